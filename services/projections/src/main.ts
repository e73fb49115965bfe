import { consumerDefinitions, createPublisher, ensureConsumer } from '@konstruct/bus';
import { openDatabase } from '@konstruct/db';
import { connectBusFromConfig, loadServiceConfig, runService } from '@konstruct/runtime';
import { startProjectionConsumer } from './consumer.ts';

/**
 * The projections service on its own: reads every tenant fact from the durable `projections` consumer and
 * writes the read models as the app role, under row-level security. Migrations are not run here; the owner
 * role runs them (`konstruct migrate`).
 */
const config = loadServiceConfig('projections', process.env, ['nats', 'database']);

runService('projections', config.LOG_LEVEL, async (logger) => {
  const bus = await connectBusFromConfig(config, 'konstruct-projections');
  const definition = consumerDefinitions(bus.topology).projections;
  await ensureConsumer(bus.jsm, bus.topology, definition);
  const orm = await openDatabase({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX, logger });
  const running = await startProjectionConsumer({
    js: bus.js,
    orm,
    topology: bus.topology,
    definition,
    publisher: createPublisher(bus.js, bus.topology, { timeoutMs: config.NATS_PUBLISH_TIMEOUT }),
    logger,
  });
  logger.info({ consumer: definition.name, filter: definition.filterSubject }, 'projections started');
  // a consumer that stops on its own (its connection closed for good) takes the process down with it, so a
  // supervisor restarts it instead of it idling
  void running.closed.then(() => process.kill(process.pid, 'SIGTERM'));
  return async () => {
    await running.stop();
    await bus.nc.drain();
    await orm.close(true);
  };
});
