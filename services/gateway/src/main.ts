import { connectBus, createPublisher, ensureStreams } from '@konstruct/bus';
import { loadConfig } from '@konstruct/config';
import { createLogger, systemClock } from '@konstruct/core';
import { credentialsKey, openDatabase, resolveConnection } from '@konstruct/db';
import { topology } from '@konstruct/names';
import { createGateway } from './app.ts';
import { natsReadiness } from './ready.ts';

// The composition root: the only place that reads the environment and builds the gateway's dependencies.
const config = loadConfig(process.env, ['nats', 'database', 'gateway']);
const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
const topo = topology({
  prefix: config.NATS_SUBJECT_PREFIX,
  events: config.NATS_STREAM,
  ops: config.NATS_OPS_STREAM,
});

// no async stack per publish: two Error objects per request were a tenth of the gateway's CPU under load
const bus = await connectBus({
  url: config.NATS_URL,
  name: 'konstruct-gateway',
  user: config.NATS_USER,
  pass: config.NATS_PASSWORD,
  asyncTraces: false,
});
await ensureStreams(bus.jsm, topo, { duplicateWindowMs: config.NATS_DUPLICATE_WINDOW });
const orm = await openDatabase({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX, logger });
const key = credentialsKey(config.CREDENTIALS_KEY);

const gateway = createGateway({
  config,
  logger,
  publisher: createPublisher(bus.js, topo, { timeoutMs: config.NATS_PUBLISH_TIMEOUT }),
  resolve: (channel, workspaceId) => resolveConnection(orm, key, channel, workspaceId),
  ready: natsReadiness(bus, topo),
  clock: systemClock,
});
await gateway.start();

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'draining: finishing in-flight requests');
  await gateway.stop();
  await bus.nc.drain();
  await orm.close();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
