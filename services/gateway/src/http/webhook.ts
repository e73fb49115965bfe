import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@konstruct/core';
import { answerError } from './problem.ts';

/** What a webhook handler answers when it accepted the request; refusals are thrown as AppErrors. */
export interface Reply {
  /** What the request is counted as in `gateway_requests_total` (`stored`, `duplicate`, `dropped`…). */
  outcome: string;
  /** A JSON body (Slack's `url_verification` challenge); none means an empty 200. */
  json?: unknown;
}

/**
 * A webhook route: reads the request, returns the 200 to send once everything it had to store is stored, or
 * throws. It knows nothing of the HTTP framework, so the same handler serves the hot path on plain `node:http`
 * and the express app.
 */
export type WebhookHandler = (req: IncomingMessage) => Promise<Reply>;

/**
 * Runs a webhook handler for one request and answers it: the reply as a 200, or the thrown error as an RFC
 * 9457 problem ({@link answerError}); then tells `done` what the request came to (its metrics outcome).
 */
export function serveWebhook(
  route: string,
  handler: WebhookHandler,
  req: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
  done: (outcome: string) => void,
): void {
  handler(req).then(
    (reply) => {
      if (reply.json === undefined) {
        res.statusCode = 200;
        res.end();
      } else {
        const body = JSON.stringify(reply.json);
        res.statusCode = 200;
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.setHeader('Content-Length', Buffer.byteLength(body));
        res.end(body);
      }
      done(reply.outcome);
    },
    (error: unknown) => done(answerError(error, req, res, route, logger)),
  );
}
