import { CompletionRequest } from '@konstruct/contracts';
import { AppError, type Logger, messageLogger, UnavailableError, ValidationError } from '@konstruct/core';
import express, { type ErrorRequestHandler, type Express, type Response } from 'express';
import type { Pool } from './completion/pool.ts';

/** Largest `/v1/complete` body accepted: a 20-message window with long turns fits many times over. */
const BODY_LIMIT = '2mb';

// stable error code -> HTTP status and title; anything else is a bug of ours: 500
const BY_CODE: Record<string, { status: number; title: string }> = {
  validation_failed: { status: 400, title: 'Bad Request' },
  not_found: { status: 404, title: 'Not Found' },
  unavailable: { status: 503, title: 'Service Unavailable' },
};

/**
 * The llm-pool's HTTP surface: `POST /v1/complete` (a {@link CompletionRequest} in, a `CompletionResponse`
 * out) and `GET /healthz` (the process is up, with each provider's state). Every error is an RFC 9457
 * problem document; a 503 carries `Retry-After` and, when the group's choices all failed, `attempts`.
 */
export function createHttpApp({ pool, logger }: { pool: Pool; logger: Logger }): Express {
  const app = express();
  app.disable('x-powered-by');

  app.post('/v1/complete', express.json({ limit: BODY_LIMIT }), async (req, res) => {
    const parsed = CompletionRequest.safeParse(req.body);
    if (!parsed.success) {
      throw new ValidationError('the body is not a completion request', {
        details: {
          issues: parsed.error.issues.map((issue) => ({
            path: issue.path.join('.'),
            message: issue.message,
          })),
        },
      });
    }
    const request = parsed.data;
    const log = messageLogger(logger, {
      tenantId: request.tenantId,
      ...(request.correlationId === undefined ? {} : { correlationId: request.correlationId }),
    }).child({ agentId: request.agentId, modelGroup: request.modelGroup });
    res.locals.log = log;
    // the caller (the orchestrator) gave up or died: stop waiting for the model on its behalf
    const callerGone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) callerGone.abort();
    });
    const answer = await pool.complete(request, callerGone.signal, log);
    res.json(answer);
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ...pool.health() });
  });

  app.use((req, res) => {
    sendProblem(res, 'not_found', 404, 'Not Found', `no route for ${req.method} ${req.path}`);
  });
  app.use(problemHandler(logger));
  return app;
}

/** Sends an RFC 9457 problem document; `extensions` (issues, attempts) are added as top-level members. */
function sendProblem(
  res: Response,
  code: string,
  status: number,
  title: string,
  detail: string,
  extensions: Record<string, unknown> = {},
): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({ type: `urn:konstruct:problem:${code}`, title, status, detail, code, ...extensions }),
    );
}

/** The one place where errors become HTTP answers, by the error's stable code. */
function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const log: Logger = res.locals.log ?? logger;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof AppError && BY_CODE[error.code]) {
      const known = BY_CODE[error.code]!;
      if (error instanceof UnavailableError) {
        res.setHeader('Retry-After', String(Math.max(1, Math.ceil((error.retryAfterMs ?? 1_000) / 1_000))));
      }
      log.debug({ code: error.code, detail: error.message }, 'request refused');
      sendProblem(res, error.code, known.status, known.title, error.message, error.details);
      return;
    }
    // express.json's own errors: malformed JSON (400), too large (413), wrong charset (415)
    const status = Number((error as { status?: unknown }).status);
    if (Number.isInteger(status) && status >= 400 && status < 500) {
      const detail = status === 413 ? `the body is larger than ${BODY_LIMIT}` : 'the body is not valid JSON';
      sendProblem(
        res,
        'validation_failed',
        status,
        status === 413 ? 'Content Too Large' : 'Bad Request',
        detail,
      );
      return;
    }
    log.error({ err: error, route: req.path }, 'unexpected error');
    sendProblem(res, 'internal', 500, 'Internal Server Error', 'an unexpected error occurred');
  };
}
