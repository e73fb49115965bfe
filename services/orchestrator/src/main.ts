import { connectBus, createPublisher, ensureStreams } from '@konstruct/bus';
import { loadConfig } from '@konstruct/config';
import { createLogger, describeError } from '@konstruct/core';
import { credentialsKey, openDatabase } from '@konstruct/db';
import { topology } from '@konstruct/names';
import { Redis } from 'ioredis';
import { createOrchestrator, settingsFromConfig } from './index.ts';

// The composition root: the only place that reads the environment and opens connections.
const config = loadConfig(process.env, ['nats', 'database', 'redis', 'orchestrator', 'routing']);
const logger = createLogger({ service: 'orchestrator', level: config.LOG_LEVEL });

async function run(): Promise<void> {
  const topo = topology({
    prefix: config.NATS_SUBJECT_PREFIX,
    events: config.NATS_STREAM,
    ops: config.NATS_OPS_STREAM,
  });
  const bus = await connectBus({
    url: config.NATS_URL,
    name: 'konstruct-orchestrator',
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
  });
  await ensureStreams(bus.jsm, topo, { duplicateWindowMs: config.NATS_DUPLICATE_WINDOW });
  const orm = await openDatabase({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX, logger });
  const redis = new Redis(config.REDIS_URL, {
    keyPrefix: config.REDIS_KEY_PREFIX,
    // fail a command after a few reconnect attempts rather than queueing it forever: the consumer naks and
    // the message comes back after the backoff
    maxRetriesPerRequest: 3,
  });
  const orchestrator = createOrchestrator({
    js: bus.js,
    jsm: bus.jsm,
    topology: topo,
    publisher: createPublisher(bus.js, topo, { timeoutMs: config.NATS_PUBLISH_TIMEOUT }),
    orm,
    redis,
    logger,
    credentialsKey: credentialsKey(config.CREDENTIALS_KEY),
    settings: settingsFromConfig(config),
  });
  await orchestrator.start();

  let stopping = false;
  async function shutdown(signal: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'orchestrator draining');
    try {
      // finish (or hand back) the messages in hand before closing what they use; an LLM call in flight is
      // aborted and its message redelivered to the next process, which finds every side effect guarded
      await orchestrator.stop();
      await bus.nc.drain();
      await redis.quit();
      await orm.close();
      logger.info('orchestrator stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'orchestrator did not drain cleanly');
      process.exit(1);
    }
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

run().catch((error: unknown) => {
  logger.fatal({ err: error }, `orchestrator failed to start: ${describeError(error)}`);
  process.exit(1);
});
