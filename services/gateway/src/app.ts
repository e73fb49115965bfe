import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Publisher } from '@konstruct/bus';
import type { Config } from '@konstruct/config';
import { type Clock, type Logger, systemClock } from '@konstruct/core';
import express, { type Express } from 'express';
import { coalescingPublisher } from './coalesce.ts';
import { createConnectionCache, type ResolveConnection } from './connections.ts';
import { notFound, problemHandler, sendProblem } from './http/problem.ts';
import { serveWebhook, type WebhookHandler } from './http/webhook.ts';
import { createIngest } from './ingest.ts';
import { createMetrics, type GatewayMetrics } from './metrics.ts';
import { slackEventsHandler } from './slack/http.ts';
import { whatsAppHandshakeHandler, whatsAppWebhookHandler } from './whatsapp/http.ts';

/** What `/readyz` reports: ready only when every check passed. */
export interface ReadyReport {
  ready: boolean;
  checks: Record<string, boolean | string>;
}

/** Everything the gateway is made of; the composition root (or a test, or the bench) supplies it. */
export interface GatewayDeps {
  /** The `gateway` and `nats` config sections. */
  config: Config<'gateway' | 'nats'>;
  logger: Logger;
  /** Publishes to JetStream; its subjects come from its topology. */
  publisher: Publisher;
  /** Workspace → connection across tenants (libs/db `resolveConnection`). */
  resolve: ResolveConnection;
  /** Backs `/readyz`: NATS connected and the streams present. @default always ready */
  ready?: () => Promise<ReadyReport>;
  /** @default systemClock */
  clock?: Clock;
  /** @default a fresh registry */
  metrics?: GatewayMetrics;
  /** What `/metrics` serves. @default the text of `metrics.registry` (a cluster worker: every worker's, summed) */
  metricsText?: () => Promise<string>;
  /** How long a resolved connection is trusted. @default 30_000 */
  connectionTtlMs?: number;
  /** How long an unknown workspace is remembered as unknown. @default 5_000 */
  connectionMissTtlMs?: number;
}

/** A gateway: the express app, its HTTP server, and its lifecycle. */
export interface Gateway {
  app: Express;
  server: Server;
  metrics: GatewayMetrics;
  /** Listens; resolves with the bound address (port 0 picks a free one). */
  start(options?: { port?: number; host?: string }): Promise<AddressInfo>;
  /**
   * Stops taking requests, lets in-flight ones finish (each answered only after its publish settled), closes
   * idle keep-alive connections at once and the rest after `graceMs`.
   */
  stop(graceMs?: number): Promise<void>;
}

const ROUTES = new Set(['/slack/events', '/whatsapp/webhook', '/healthz', '/readyz', '/metrics']);

/**
 * Creates the gateway: `POST /slack/events`, `GET|POST /whatsapp/webhook`, `/healthz`, `/readyz`, `/metrics`,
 * RFC 9457 problems for everything refused, and a 404 problem for every other route.
 */
export function createGateway(deps: GatewayDeps): Gateway {
  const { config, logger, publisher } = deps;
  const clock = deps.clock ?? systemClock;
  const metrics = deps.metrics ?? createMetrics();
  const ready = deps.ready ?? (async () => ({ ready: true, checks: {} }));
  const connections = createConnectionCache({
    resolve: deps.resolve,
    clock,
    ...(deps.connectionTtlMs !== undefined ? { ttlMs: deps.connectionTtlMs } : {}),
    ...(deps.connectionMissTtlMs !== undefined ? { missTtlMs: deps.connectionMissTtlMs } : {}),
  });
  const ingest = createIngest({
    publisher: coalescingPublisher(publisher),
    clock,
    metrics,
    logger,
    publishTimeoutMs: config.NATS_PUBLISH_TIMEOUT,
    // a tenth of a request's CPU: checked everywhere but in production (see createIngest)
    validate: config.NODE_ENV !== 'production',
  });
  let stopping = false;

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  /** Counts one answered request by route and outcome. */
  function count(route: string, outcome: string, started: number): void {
    metrics.requests.inc({ route, outcome });
    metrics.requestSeconds.observe({ route }, (performance.now() - started) / 1000);
  }

  // counts every answer express gives by route and outcome: handlers and the error handler set
  // res.locals.outcome (and the webhook routes res.locals.route, for every spelling of their path)
  app.use((req, res, next) => {
    const started = performance.now();
    if (stopping) res.setHeader('Connection', 'close');
    res.on('finish', () => {
      const route = (res.locals.route as string | undefined) ?? (ROUTES.has(req.path) ? req.path : 'unknown');
      count(route, (res.locals.outcome as string | undefined) ?? String(res.statusCode), started);
    });
    next();
  });

  const webhooks = new Map<string, WebhookHandler>([
    [
      'POST /slack/events',
      slackEventsHandler({
        signingSecret: config.SLACK_SIGNING_SECRET,
        timestampToleranceMs: config.SLACK_TIMESTAMP_TOLERANCE,
        bodyLimit: config.GATEWAY_BODY_LIMIT,
        connections,
        ingest,
        clock,
        logger,
      }),
    ],
    [
      'POST /whatsapp/webhook',
      whatsAppWebhookHandler({
        appSecret: config.WHATSAPP_APP_SECRET,
        verifyToken: config.WHATSAPP_VERIFY_TOKEN,
        bodyLimit: config.GATEWAY_BODY_LIMIT,
        connections,
        ingest,
        logger,
      }),
    ],
  ]);
  // the same handlers under express, for the spellings express also routes there (a trailing slash, any case)
  for (const [key, handler] of webhooks) {
    const [, path] = key.split(' ') as [string, string];
    app.post(path, (req, res) => {
      res.locals.route = path;
      serveWebhook(path, handler, req, res, logger, (outcome) => {
        res.locals.outcome = outcome;
      });
    });
  }
  app.get('/whatsapp/webhook', whatsAppHandshakeHandler({ verifyToken: config.WHATSAPP_VERIFY_TOKEN }));
  app.get('/healthz', (_req, res) => {
    res.locals.outcome = 'ok';
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = stopping
      ? { ready: false, checks: { stopping: true } }
      : await ready().catch((error: Error) => ({
          ready: false,
          checks: { error: error.message },
        }));
    res.locals.outcome = report.ready ? 'ready' : 'not_ready';
    if (report.ready) res.json({ status: 'ready', checks: report.checks });
    else
      sendProblem(
        res,
        'not_ready',
        503,
        'Service Unavailable',
        `not ready: ${JSON.stringify(report.checks)}`,
      );
  });
  app.get('/metrics', async (_req, res) => {
    res.locals.outcome = 'ok';
    res
      .type(metrics.registry.contentType)
      .send(await (deps.metricsText ?? (() => metrics.registry.metrics()))());
  });
  app.use(notFound);
  app.use(problemHandler(logger));

  // The two webhook routes are the hot path: they go straight to their handlers, without express's routing
  // and response helpers (about a tenth of a webhook's CPU); everything else, and every other spelling of
  // their paths, goes through the express app.
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const handler = webhooks.get(`${req.method} ${path}`);
    if (!handler) return app(req, res);
    const started = performance.now();
    if (stopping) res.setHeader('Connection', 'close');
    serveWebhook(path, handler, req, res, logger, (outcome) => count(path, outcome, started));
  });
  // a slow or stalled sender may not hold a socket for long: Slack and Meta send small bodies at once
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;

  return {
    app,
    server,
    metrics,
    start({ port = config.GATEWAY_PORT, host = config.GATEWAY_HOST } = {}) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          logger.info({ port: address.port, host, pid: process.pid }, 'gateway listening');
          resolve(address);
        });
      });
    },
    stop(graceMs = 10_000) {
      stopping = true;
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        // a keep-alive connection whose request was in flight becomes idle only once it is answered
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearTimeout(force);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
