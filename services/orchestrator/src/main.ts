import { createPublisher } from '@konstruct/bus';
import { credentialsKey, openDatabase } from '@konstruct/db';
import { connectBusFromConfig, loadServiceConfig, openRedis, runService } from '@konstruct/runtime';
import { createOrchestrator, settingsFromConfig } from './index.ts';

// The composition root: the only place that reads the environment and opens connections.
const config = loadServiceConfig('orchestrator', process.env, [
  'nats',
  'database',
  'redis',
  'orchestrator',
  'routing',
]);

runService('orchestrator', config.LOG_LEVEL, async (logger) => {
  const bus = await connectBusFromConfig(config, 'konstruct-orchestrator');
  const orm = await openDatabase({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX, logger });
  const redis = openRedis(config);
  const orchestrator = createOrchestrator({
    js: bus.js,
    jsm: bus.jsm,
    topology: bus.topology,
    publisher: createPublisher(bus.js, bus.topology, { timeoutMs: config.NATS_PUBLISH_TIMEOUT }),
    orm,
    redis,
    logger,
    credentialsKey: credentialsKey(config.CREDENTIALS_KEY),
    settings: settingsFromConfig(config),
  });
  await orchestrator.start();
  return async () => {
    // finish (or hand back) the messages in hand before closing what they use; an LLM call in flight is
    // aborted and its message redelivered to the next process, which finds every side effect guarded
    await orchestrator.stop();
    await bus.nc.drain();
    await redis.quit();
    await orm.close();
  };
});
