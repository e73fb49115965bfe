import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@konstruct/core';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * Several gateway processes on one port (`GATEWAY_WORKERS` > 1), with node:cluster: the primary forks the
 * workers and hands each accepted connection to one of them in turn; every worker is a whole gateway with its
 * own NATS and Postgres connections. One Node process is one core, and a webhook is mostly CPU (signature,
 * JSON, the publish), so on a machine with cores to spare more workers store more webhooks per second.
 *
 * The primary serves nothing itself. It keeps the workers running (one that dies after it started listening is
 * replaced; one that dies before is a start-up failure and stops the gateway, as a single process would), passes
 * SIGTERM/SIGINT on so each drains its in-flight requests, and answers `/metrics` for all: the worker a scrape
 * lands on asks the primary, which sums every worker's registry (prom-client's cluster aggregation).
 */

const METRICS_REQUEST = 'konstruct:gateway:metrics';
const METRICS_REPLY = 'konstruct:gateway:metrics-reply';

interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
}
interface MetricsReply {
  type: typeof METRICS_REPLY;
  id: number;
  text?: string;
  error?: string;
}

/** True in the primary of a gateway started with more than one worker. */
export function isClusterPrimary(workers: number): boolean {
  return workers > 1 && cluster.isPrimary;
}

/** Runs the primary: forks `workers`, supervises them, aggregates their metrics. Exits when they all have. */
export function superviseWorkers({ workers, logger }: { workers: number; logger: Logger }): void {
  const aggregator = new AggregatorRegistry();
  const listening = new Set<Worker>();
  let stopping = false;
  let exitCode = 0;

  const fork = () => cluster.fork();
  cluster.on('listening', (worker) => listening.add(worker));
  cluster.on('exit', (worker, code, signal) => {
    const started = listening.delete(worker);
    if (!stopping && started) {
      logger.error({ pid: worker.process.pid, code, signal }, 'a gateway worker died; starting another');
      fork();
      return;
    }
    if (!stopping) {
      logger.fatal({ pid: worker.process.pid, code, signal }, 'a gateway worker failed to start');
      exitCode = 1;
      stop('SIGTERM');
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
  });
  cluster.on('message', (worker, message: MetricsRequest) => {
    if (message?.type !== METRICS_REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: METRICS_REPLY, id: message.id, text } satisfies MetricsReply),
      (error: Error) =>
        worker.send({ type: METRICS_REPLY, id: message.id, error: error.message } satisfies MetricsReply),
    );
  });

  function stop(signal: NodeJS.Signals): void {
    if (stopping) return;
    stopping = true;
    logger.info(
      { signal, workers: Object.keys(cluster.workers ?? {}).length },
      'gateway draining its workers',
    );
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  }
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  logger.info({ workers }, 'gateway starting its workers');
  for (let i = 0; i < workers; i++) fork();
}

/**
 * In a worker: offers `registry` to the primary's aggregation and returns what `/metrics` should serve, every
 * worker's metrics summed (asked of the primary). Outside a cluster, `undefined`: serve the registry itself.
 */
export function clusterMetricsSource(registry: Registry): (() => Promise<string>) | undefined {
  if (!cluster.isWorker) return undefined;
  new AggregatorRegistry(); // installs the listener that answers the primary's requests for our metrics
  AggregatorRegistry.setRegistries([registry]);
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  let next = 0;
  process.on('message', (message: MetricsReply) => {
    if (message?.type !== METRICS_REPLY) return;
    const w = waiting.get(message.id);
    if (!w) return;
    waiting.delete(message.id);
    if (message.text !== undefined) w.resolve(message.text);
    else w.reject(new Error(`metrics aggregation failed: ${message.error}`));
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('metrics aggregation: the primary did not answer'));
      }, 10_000);
      waiting.set(id, {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      process.send?.({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
    });
}
