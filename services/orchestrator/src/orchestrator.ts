import {
  type ConsumerDefinition,
  consumerDefinitions,
  type EventHandler,
  ensureConsumer,
  type Publisher,
  type RunningConsumer,
  startConsumer,
} from '@konstruct/bus';
import type { Config } from '@konstruct/config';
import type { EventType } from '@konstruct/contracts';
import type { Clock, IdGenerator, Logger } from '@konstruct/core';
import type { Database } from '@konstruct/db';
import type { Topology } from '@konstruct/names';
import type { FetchLike } from '@konstruct/platforms';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Redis } from 'ioredis';
import { createPlatformLinks } from './delivery/connections.ts';
import { createDeliveryHandler } from './delivery/consumer.ts';
import { createSlackThreadWriter } from './delivery/placeholder.ts';
import { createNoticeHandler, noticesDefinition } from './notices/consumer.ts';
import { createReplyHandler } from './replies/consumer.ts';
import { createLlmPoolClient } from './replies/llm.ts';
import { createSessionStore } from './replies/session.ts';

/** The orchestrator's settings, from config. */
export interface OrchestratorSettings {
  /** `SESSION_WINDOW_MESSAGES`. */
  sessionWindowMessages: number;
  /** `LLM_POOL_URL`. */
  llmPoolUrl: string;
  /** `LLM_TIMEOUT`: one completion, the pool's fallbacks included. */
  llmTimeoutMs: number;
  /** `SLACK_API_BASE_URL`. */
  slackApiBaseUrl: string;
  /** `WHATSAPP_GRAPH_BASE_URL`. */
  graphBaseUrl: string;
  /** `WHATSAPP_GRAPH_API_VERSION`. */
  graphApiVersion: string;
  /** `ENGAGED_THREAD_TTL`. */
  engagedThreadTtlMs: number;
  /**
   * How long reply outcomes, placeholders and deliveries are remembered in Redis: `NATS_DUPLICATE_WINDOW`, so a
   * message JetStream may still redeliver or re-accept always finds its guard.
   */
  guardTtlMs: number;
  /** How long a quiet conversation keeps its session window. @default 7 days */
  sessionTtlMs?: number;
  /** How long one Slack or Graph call may take. @default 10_000 */
  platformTimeoutMs?: number;
}

/** The orchestrator settings out of the loaded config sections. */
export function settingsFromConfig(
  config: Config<'nats' | 'orchestrator' | 'routing'>,
): OrchestratorSettings {
  return {
    sessionWindowMessages: config.SESSION_WINDOW_MESSAGES,
    llmPoolUrl: config.LLM_POOL_URL,
    llmTimeoutMs: config.LLM_TIMEOUT,
    slackApiBaseUrl: config.SLACK_API_BASE_URL,
    graphBaseUrl: config.WHATSAPP_GRAPH_BASE_URL,
    graphApiVersion: config.WHATSAPP_GRAPH_API_VERSION,
    engagedThreadTtlMs: config.ENGAGED_THREAD_TTL,
    guardTtlMs: config.NATS_DUPLICATE_WINDOW,
  };
}

/** The orchestrator's three consumers. */
export type OrchestratorConsumer = 'replies' | 'delivery' | 'notices';

/** Dependencies of {@link createOrchestrator}; the composition root opens every connection. */
export interface OrchestratorDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  publisher: Publisher;
  /** Connected as the app role: agents are read under their tenant's row-level security. */
  orm: Database;
  redis: Redis;
  logger: Logger;
  /** `CREDENTIALS_KEY`, decoded: opens the connections' tokens. */
  credentialsKey: Buffer;
  settings: OrchestratorSettings;
  /** Overrides of the consumer definitions (tests use short backoffs). */
  definitions?: Partial<Record<OrchestratorConsumer, Partial<ConsumerDefinition>>>;
  /** The fetch the platform and llm-pool clients use. @default globalThis.fetch */
  fetch?: FetchLike;
  clock?: Clock;
  ids?: IdGenerator;
}

/** A created orchestrator: its consumers' definitions, and start/stop. */
export interface Orchestrator {
  definitions: Record<OrchestratorConsumer, ConsumerDefinition>;
  /** Creates the durable consumers (idempotent) and starts pulling. */
  start(): Promise<void>;
  /** Stops pulling and waits for the messages in hand; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Wires the orchestrator: `orchestrator` on `message.routed` (prompt, llm-pool, `agent.replied`),
 * `delivery` on `agent.replied` (Slack / WhatsApp, `delivery.*`) and `notices` on `message.rejected`
 * (rate-limit notices). Every side effect is guarded in Redis, so a restarted process picks up where the
 * killed one stopped without a second reply.
 */
export function createOrchestrator(deps: OrchestratorDeps): Orchestrator {
  const { js, jsm, topology, publisher, orm, redis, logger, credentialsKey, settings } = deps;
  const base = consumerDefinitions(topology);
  const definitions: Record<OrchestratorConsumer, ConsumerDefinition> = {
    replies: { ...base.orchestrator, ...deps.definitions?.replies },
    delivery: { ...base.delivery, ...deps.definitions?.delivery },
    notices: { ...noticesDefinition(topology), ...deps.definitions?.notices },
  };
  const common = {
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.ids ? { ids: deps.ids } : {}),
  };
  const links = createPlatformLinks({
    orm,
    credentialsKey,
    slackBaseUrl: settings.slackApiBaseUrl,
    graphBaseUrl: settings.graphBaseUrl,
    graphApiVersion: settings.graphApiVersion,
    timeoutMs: settings.platformTimeoutMs ?? 10_000,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  const slackThreads = createSlackThreadWriter({ redis, ttlMs: settings.guardTtlMs });
  const handlers: Record<OrchestratorConsumer, { handler: EventHandler; types: EventType[] }> = {
    replies: {
      types: ['message.routed'],
      handler: createReplyHandler({
        orm,
        redis,
        publisher,
        sessions: createSessionStore({
          redis,
          windowMessages: settings.sessionWindowMessages,
          outcomeTtlMs: settings.guardTtlMs,
          ...(settings.sessionTtlMs ? { sessionTtlMs: settings.sessionTtlMs } : {}),
        }),
        llm: createLlmPoolClient({
          baseUrl: settings.llmPoolUrl,
          timeoutMs: settings.llmTimeoutMs,
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
        }),
        links,
        slackThreads,
        maxDeliver: definitions.replies.maxDeliver,
        leaseWaitMs: settings.llmTimeoutMs + 30_000,
        ...common,
      }),
    },
    delivery: {
      types: ['agent.replied'],
      handler: createDeliveryHandler({
        redis,
        publisher,
        links,
        slackThreads,
        guardTtlMs: settings.guardTtlMs,
        engagedThreadTtlMs: settings.engagedThreadTtlMs,
        maxDeliver: definitions.delivery.maxDeliver,
        ...common,
      }),
    },
    notices: {
      types: ['message.rejected'],
      handler: createNoticeHandler({
        redis,
        publisher,
        links,
        guardTtlMs: settings.guardTtlMs,
        maxDeliver: definitions.notices.maxDeliver,
        ...common,
      }),
    },
  };

  let running: RunningConsumer[] = [];
  return {
    definitions,
    async start() {
      for (const definition of Object.values(definitions)) await ensureConsumer(jsm, topology, definition);
      for (const [name, { handler, types }] of Object.entries(handlers)) {
        running.push(
          await startConsumer({
            js,
            topology,
            definition: definitions[name as OrchestratorConsumer],
            handler,
            publisher,
            logger,
            types,
            ...common,
          }),
        );
      }
      logger.info({ consumers: Object.values(definitions).map((d) => d.name) }, 'orchestrator started');
    },
    async stop() {
      const stopping = running;
      running = [];
      await Promise.all(stopping.map((consumer) => consumer.stop()));
    },
  };
}
