import {
  connectBus,
  consumerDefinitions,
  createPublisher,
  ensureConsumer,
  ensureStreams,
} from '@konstruct/bus';
import { loadConfig } from '@konstruct/config';
import { createLogger, describeError } from '@konstruct/core';
import { openDatabase } from '@konstruct/db';
import { topology } from '@konstruct/names';
import { startProjectionConsumer } from './consumer.ts';

/**
 * The projections service on its own: reads every tenant fact from the durable `projections` consumer and
 * writes the read models as the app role, under row-level security. Migrations are not run here; the owner
 * role runs them (`konstruct migrate`).
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env, ['nats', 'database']);
  const logger = createLogger({ service: 'projections', level: config.LOG_LEVEL });
  const topo = topology({
    prefix: config.NATS_SUBJECT_PREFIX,
    events: config.NATS_STREAM,
    ops: config.NATS_OPS_STREAM,
  });
  const bus = await connectBus({
    url: config.NATS_URL,
    name: 'konstruct-projections',
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
  });
  await ensureStreams(bus.jsm, topo, { duplicateWindowMs: config.NATS_DUPLICATE_WINDOW });
  const definition = consumerDefinitions(topo).projections;
  await ensureConsumer(bus.jsm, topo, definition);
  const orm = await openDatabase({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX, logger });
  const running = await startProjectionConsumer({
    js: bus.js,
    orm,
    topology: topo,
    definition,
    publisher: createPublisher(bus.js, topo, { timeoutMs: config.NATS_PUBLISH_TIMEOUT }),
    logger,
  });
  logger.info({ consumer: definition.name, filter: definition.filterSubject }, 'projections started');

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'draining');
    await running.stop();
    await bus.nc.drain();
    await orm.close(true);
    logger.info('drained');
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  await running.closed;
  await shutdown('consumer closed');
}

main().catch((error: unknown) => {
  process.stderr.write(`projections: ${describeError(error)}\n`);
  process.exit(1);
});
