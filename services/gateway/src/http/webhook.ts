import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@konstruct/core';
import type { GatewayMetrics } from '../metrics.ts';
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

/** Everything {@link serveWebhook} needs besides the request. */
export interface WebhookContext {
  metrics: GatewayMetrics;
  logger: Logger;
  /** True once the gateway is stopping: answers then close their connection. */
  stopping: () => boolean;
}

/**
 * Runs a webhook handler for one request and answers it: the reply as a 200, or the thrown error as an RFC
 * 9457 problem ({@link answerError}), counted in the request metrics under `route` either way.
 */
export function serveWebhook(
  route: string,
  handler: WebhookHandler,
  req: IncomingMessage,
  res: ServerResponse,
  { metrics, logger, stopping }: WebhookContext,
): void {
  const started = performance.now();
  if (stopping()) res.setHeader('Connection', 'close');
  const done = (outcome: string) => {
    metrics.requests.inc({ route, outcome });
    metrics.requestSeconds.observe({ route }, (performance.now() - started) / 1000);
  };
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
