import { connectBus, createPublisher, ensureStreams } from '@konstruct/bus';
import { type Config, ConfigError, loadConfig } from '@konstruct/config';
import { createLogger, describeError } from '@konstruct/core';
import { openDatabase } from '@konstruct/db';
import { topology } from '@konstruct/names';
import { Redis } from 'ioredis';
import { createRouter } from './index.ts';

// The composition root: the only place that reads the environment and opens connections.
let config: Config<'nats' | 'database' | 'redis' | 'routing'>;
try {
  config = loadConfig(process.env, ['nats', 'database', 'redis', 'routing']);
} catch (error) {
  // the message names every bad variable; a stack trace would only bury it
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`router: ${error.message}\n`);
  process.exit(1);
}
const logger = createLogger({ service: 'router', level: config.LOG_LEVEL });

async function run(): Promise<void> {
  const topo = topology({
    prefix: config.NATS_SUBJECT_PREFIX,
    events: config.NATS_STREAM,
    ops: config.NATS_OPS_STREAM,
  });
  // every message costs a publish: no async stack trace captured per request on this hot path
  const bus = await connectBus({
    url: config.NATS_URL,
    name: 'konstruct-router',
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
    asyncTraces: false,
  });
  await ensureStreams(bus.jsm, topo, { duplicateWindowMs: config.NATS_DUPLICATE_WINDOW });
  const orm = await openDatabase({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX, logger });
  const redis = new Redis(config.REDIS_URL, {
    keyPrefix: config.REDIS_KEY_PREFIX,
    // fail a command after a few reconnect attempts rather than queueing it forever: the consumer naks and
    // the message comes back after the backoff
    maxRetriesPerRequest: 3,
  });
  const router = createRouter({
    js: bus.js,
    jsm: bus.jsm,
    topology: topo,
    publisher: createPublisher(bus.js, topo, { timeoutMs: config.NATS_PUBLISH_TIMEOUT }),
    orm,
    redis,
    logger,
    settings: {
      rateLimitMessages: config.RATE_LIMIT_MESSAGES,
      rateLimitWindowMs: config.RATE_LIMIT_WINDOW,
      engagedThreadTtlMs: config.ENGAGED_THREAD_TTL,
      decisionTtlMs: config.ROUTING_DECISION_TTL,
    },
  });
  await router.start();

  let stopping = false;
  async function shutdown(signal: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'router draining');
    try {
      // finish the messages in hand before closing what they use
      await router.stop();
      await bus.nc.drain();
      await redis.quit();
      await orm.close();
      logger.info('router stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'router did not drain cleanly');
      process.exit(1);
    }
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

run().catch((error: unknown) => {
  logger.fatal({ err: error }, `router failed to start: ${describeError(error)}`);
  process.exit(1);
});
