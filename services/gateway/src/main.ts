import { createPipelinedPublisher } from '@konstruct/bus';
import { createLogger, systemClock } from '@konstruct/core';
import { credentialsKey, openDatabase, resolveConnection } from '@konstruct/db';
import { connectBusFromConfig, loadServiceConfig, runService } from '@konstruct/runtime';
import { createGateway } from './app.ts';
import { clusterMetricsSource, isClusterPrimary, superviseWorkers } from './cluster.ts';
import { createMetrics } from './metrics.ts';
import { natsReadiness } from './ready.ts';

// The composition root: the only place that reads the environment and builds the gateway's dependencies.
const config = loadServiceConfig('gateway', process.env, ['nats', 'database', 'gateway']);

if (isClusterPrimary(config.GATEWAY_WORKERS)) {
  superviseWorkers({
    workers: config.GATEWAY_WORKERS,
    logger: createLogger({ service: 'gateway', level: config.LOG_LEVEL }),
  });
} else {
  runService('gateway', config.LOG_LEVEL, async (logger) => {
    // no async stack per publish: two Error objects per request were a tenth of the gateway's CPU under load
    const bus = await connectBusFromConfig(config, 'konstruct-gateway', { asyncTraces: false });
    const orm = await openDatabase({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX, logger });
    const key = credentialsKey(config.CREDENTIALS_KEY);
    // JetStream's publish protocol without a request object, timer and error per message (libs/bus pipelined.ts)
    const publisher = createPipelinedPublisher(bus.nc, bus.topology, {
      timeoutMs: config.NATS_PUBLISH_TIMEOUT,
    });
    const metrics = createMetrics();
    const metricsText = clusterMetricsSource(metrics.registry);
    const gateway = createGateway({
      config,
      logger,
      publisher,
      metrics,
      ...(metricsText ? { metricsText } : {}),
      resolve: (channel, workspaceId) => resolveConnection(orm, key, channel, workspaceId),
      ready: natsReadiness(bus, bus.topology),
      clock: systemClock,
    });
    await gateway.start();
    return async () => {
      // in-flight requests finish (each stored before its 200), then the connections close
      await gateway.stop();
      publisher.close();
      await bus.nc.drain();
      await orm.close();
    };
  });
}
