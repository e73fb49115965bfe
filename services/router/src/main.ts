import { createPublisher } from '@konstruct/bus';
import { openDatabase } from '@konstruct/db';
import { connectBusFromConfig, loadServiceConfig, openRedis, runService } from '@konstruct/runtime';
import { createRouter } from './index.ts';

// The composition root: the only place that reads the environment and opens connections.
const config = loadServiceConfig('router', process.env, ['nats', 'database', 'redis', 'routing']);

runService('router', config.LOG_LEVEL, async (logger) => {
  // every message costs a publish: no async stack trace captured per request on this hot path
  const bus = await connectBusFromConfig(config, 'konstruct-router', { asyncTraces: false });
  const orm = await openDatabase({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX, logger });
  const redis = openRedis(config);
  const router = createRouter({
    js: bus.js,
    jsm: bus.jsm,
    topology: bus.topology,
    publisher: createPublisher(bus.js, bus.topology, { timeoutMs: config.NATS_PUBLISH_TIMEOUT }),
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
  return async () => {
    // finish the messages in hand before closing what they use
    await router.stop();
    await bus.nc.drain();
    await redis.quit();
    await orm.close();
  };
});
