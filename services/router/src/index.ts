import {
  consumerDefinitions,
  ensureConsumer,
  type Publisher,
  type RunningConsumer,
  startConsumer,
} from '@konstruct/bus';
import { type Clock, type IdGenerator, type Logger, randomIds, systemClock } from '@konstruct/core';
import type { Database } from '@konstruct/db';
import type { Topology } from '@konstruct/names';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Redis } from 'ioredis';
import { createRateLimiter } from './routing/bucket.ts';
import { createRoutingHandler, type RoutingSettings } from './routing/consumer.ts';
import { createDirectoryReader } from './routing/directory.ts';

export {
  createRateLimiter,
  eventKeyPart,
  type RateLimiter,
  TAKE_TOKEN_LUA,
  type TakeTokenInput,
  type TakeTokenResult,
} from './routing/bucket.ts';
export { createRoutingHandler, type RoutingHandlerDeps, type RoutingSettings } from './routing/consumer.ts';
export {
  type Admitted,
  type AgentRef,
  addressing,
  admit,
  type Decision,
  type Directory,
  decide,
  type RateVerdict,
  type Rejected,
  type Routed,
  type RouteReason,
  type RoutingState,
} from './routing/decide.ts';
export {
  createDirectoryReader,
  type DirectoryReader,
  type DirectoryReaderOptions,
  type TenantRouting,
} from './routing/directory.ts';

/** What {@link createRouter} needs; the composition root (or a test) builds each of them. */
export interface RouterOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  /** Publishes `message.routed` / `message.rejected` and dead letters. */
  publisher: Publisher;
  /** The ORM as the app role, under row-level security. */
  orm: Database;
  /** Redis with the deployment's key prefix. */
  redis: Redis;
  logger: Logger;
  /** @default systemClock */
  clock?: Clock;
  /** @default randomIds */
  ids?: IdGenerator;
  settings: RoutingSettings;
  /** How long tenant and connection lookups are reused. @default 5_000 */
  directoryCacheMs?: number;
  /** Messages handled at once; overrides the consumer definition's. */
  concurrency?: number;
}

/** The router service: a durable consumer of `message.received`. */
export interface Router {
  /** Creates (or updates) the durable consumer and starts handling messages. */
  start(): Promise<void>;
  /** Stops pulling and waits for the messages in hand to be settled. */
  stop(): Promise<void>;
}

/**
 * Creates the router: for every `message.received` it decides whether the agent is addressed, which agent
 * answers and whether the channel is within its rate, and publishes `message.routed` or `message.rejected`.
 */
export function createRouter({
  js,
  jsm,
  topology,
  publisher,
  orm,
  redis,
  logger,
  clock = systemClock,
  ids = randomIds,
  settings,
  directoryCacheMs = 5_000,
  concurrency,
}: RouterOptions): Router {
  const definition = consumerDefinitions(topology).router;
  const handler = createRoutingHandler({
    publisher,
    redis,
    directory: createDirectoryReader({ orm, clock, cacheMs: directoryCacheMs }),
    limiter: createRateLimiter(redis, { memoTtlMs: settings.decisionTtlMs }),
    clock,
    ids,
    settings,
  });
  let running: RunningConsumer | undefined;
  return {
    async start() {
      if (running) return;
      await ensureConsumer(jsm, topology, definition);
      running = await startConsumer({
        js,
        topology,
        definition,
        handler,
        publisher,
        logger,
        types: ['message.received'],
        // one thread's messages are judged in the order they arrived: a follow-up is never decided before
        // the mention that engages its thread (other threads still run side by side)
        orderingKey: (event) =>
          event.type === 'message.received'
            ? `${event.data.message.channel}:${event.data.message.workspaceId}:${event.data.message.channelId}:${event.data.message.threadId}`
            : undefined,
        clock,
        ids,
        ...(concurrency === undefined ? {} : { concurrency }),
      });
      logger.info({ consumer: definition.name, filter: definition.filterSubject }, 'router started');
    },
    async stop() {
      const current = running;
      running = undefined;
      await current?.stop();
    },
  };
}
