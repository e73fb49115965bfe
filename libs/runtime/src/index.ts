import { type Bus, connectBus, ensureStreams } from '@konstruct/bus';
import { type Config, ConfigError, loadConfig, type SectionName } from '@konstruct/config';
import { createLogger, describeError, type Logger } from '@konstruct/core';
import { type Topology, topology } from '@konstruct/names';
import { Redis } from 'ioredis';

/**
 * Loads a service's settings, or exits 1 with the message naming every missing or invalid variable (a stack
 * trace would only bury it). Composition roots call it with `process.env`.
 */
export function loadServiceConfig<S extends SectionName>(
  service: string,
  env: Record<string, string | undefined>,
  sections: readonly S[],
): Config<S> {
  try {
    return loadConfig(env, sections);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${service}: ${error.message}\n`);
    process.exit(1);
  }
}

/** The subjects and streams the settings name. */
export function topologyFromConfig(config: Config<'nats'>): Topology {
  return topology({
    prefix: config.NATS_SUBJECT_PREFIX,
    events: config.NATS_STREAM,
    ops: config.NATS_OPS_STREAM,
  });
}

/**
 * Connects to NATS as the settings say (URL, user) and makes sure the streams exist with the configured
 * duplicate window. `asyncTraces: false` saves two Error objects per publish on hot paths.
 */
export async function connectBusFromConfig(
  config: Config<'nats'>,
  name: string,
  { asyncTraces = true }: { asyncTraces?: boolean } = {},
): Promise<Bus & { topology: Topology }> {
  const topo = topologyFromConfig(config);
  const bus = await connectBus({
    url: config.NATS_URL,
    name,
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
    asyncTraces,
  });
  await ensureStreams(bus.jsm, topo, { duplicateWindowMs: config.NATS_DUPLICATE_WINDOW });
  return { ...bus, topology: topo };
}

/**
 * Opens Redis with the configured key prefix. A command fails after a few reconnect attempts rather than
 * queueing forever, so a consumer naks and its message comes back after the backoff.
 */
export function openRedis(config: Config<'redis'>): Redis {
  return new Redis(config.REDIS_URL, { keyPrefix: config.REDIS_KEY_PREFIX, maxRetriesPerRequest: 3 });
}

/** What a started service hands back: how to drain it. */
export type Drain = () => Promise<void>;

/**
 * Runs a service: creates its logger, calls `start`, and on SIGTERM/SIGINT calls the drain it returned
 * (finish the work in hand, then close connections) and exits 0, or 1 when draining failed. A start that
 * throws is logged as fatal with its reason and exits 1.
 */
export function runService(
  service: string,
  level: Config['LOG_LEVEL'],
  start: (logger: Logger) => Promise<Drain>,
): void {
  const logger = createLogger({ service, level });
  let drain: Drain | undefined;
  let requested: string | undefined;
  let stopping = false;
  async function shutdown(signal: string): Promise<void> {
    if (stopping) return;
    if (!drain) {
      // still starting: drain as soon as there is something to drain
      requested = signal;
      return;
    }
    stopping = true;
    logger.info({ signal }, `${service} draining`);
    try {
      await drain();
      logger.info(`${service} stopped`);
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, `${service} did not drain cleanly`);
      process.exit(1);
    }
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  start(logger).then(
    (d) => {
      drain = d;
      if (requested) void shutdown(requested);
    },
    (error: unknown) => {
      logger.fatal({ err: error }, `${service} failed to start: ${describeError(error)}`);
      process.exit(1);
    },
  );
}
