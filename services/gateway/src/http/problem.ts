import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, type Logger, UnavailableError } from '@konstruct/core';
import type { ErrorRequestHandler, RequestHandler } from 'express';

/** An RFC 9457 problem document. */
export interface Problem {
  /** A URI naming the kind of problem: `urn:konstruct:problem:<code>`. */
  type: string;
  title: string;
  status: number;
  /** What went wrong with this request, safe to show the caller. */
  detail: string;
}

// Stable code -> status and title. Anything else an AppError carries is a bug of ours: 500.
const BY_CODE: Record<string, { status: number; title: string; outcome: string }> = {
  validation_failed: { status: 400, title: 'Bad Request', outcome: 'invalid' },
  unauthorized: { status: 401, title: 'Unauthorized', outcome: 'unauthorized' },
  forbidden: { status: 403, title: 'Forbidden', outcome: 'forbidden' },
  not_found: { status: 404, title: 'Not Found', outcome: 'not_found' },
  payload_too_large: { status: 413, title: 'Content Too Large', outcome: 'too_large' },
  unsupported_media_type: { status: 415, title: 'Unsupported Media Type', outcome: 'unsupported_media_type' },
  unavailable: { status: 503, title: 'Service Unavailable', outcome: 'unavailable' },
};

/** Sends a problem document with `application/problem+json` (a plain `node:http` response, or express's). */
export function sendProblem(
  res: ServerResponse,
  code: string,
  status: number,
  title: string,
  detail: string,
): void {
  const problem: Problem = { type: `urn:konstruct:problem:${code}`, title, status, detail };
  const body = JSON.stringify(problem);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** Answers every request no route took with a 404 problem. */
export const notFound: RequestHandler = (req, res) => {
  res.locals.outcome = 'not_found';
  sendProblem(res, 'not_found', 404, 'Not Found', `no route for ${req.method} ${req.path}`);
};

/**
 * The one place where errors become HTTP answers: an {@link AppError} by its code, a 503 with `Retry-After`
 * for {@link UnavailableError} (so Slack and Meta retry), express's own 4xx errors as they are, anything else
 * a logged 500. After a 413 or any error with the body unread, the connection is closed rather than drained.
 * Returns the outcome the request is counted under.
 */
export function answerError(
  error: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  logger: Logger,
): string {
  if (res.headersSent) {
    res.destroy();
    return 'error';
  }
  if (!req.complete) res.setHeader('Connection', 'close');
  if (error instanceof AppError && BY_CODE[error.code]) {
    const known = BY_CODE[error.code]!;
    if (error instanceof UnavailableError) {
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil((error.retryAfterMs ?? 1_000) / 1_000))));
      logger.warn({ err: error, route }, 'answering 503: a dependency did not answer');
    } else {
      logger.debug({ code: error.code, route, detail: error.message }, 'request refused');
    }
    sendProblem(res, error.code, known.status, known.title, error.message);
    return known.outcome;
  }
  const status = Number((error as { status?: unknown }).status);
  if (Number.isInteger(status) && status >= 400 && status < 500) {
    sendProblem(res, 'bad_request', status, 'Bad Request', 'the request could not be read');
    return 'invalid';
  }
  logger.error({ err: error, route }, 'unexpected error');
  sendProblem(res, 'internal', 500, 'Internal Server Error', 'an unexpected error occurred');
  return 'error';
}

/** {@link answerError} as express's error handler. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    res.locals.outcome = answerError(error, req, res, req.path, logger);
  };
}
