import { randomBytes, randomUUID } from 'node:crypto';
import { createPublisher, type Publisher } from '@konstruct/bus';
import {
  createEvent,
  type EventOf,
  type EventType,
  type KonstructEvent,
  type KonstructMessage,
  parseEvent,
} from '@konstruct/contracts';
import { randomIds, systemClock } from '@konstruct/core';
import { conversationId } from '@konstruct/names';
import {
  captureLogs,
  createTestBus,
  createTestDatabase,
  type FakeGraph,
  type FakeSlack,
  randomPrefix,
  startFakeGraph,
  startFakeSlack,
  type TestBus,
  type TestDatabase,
} from '@konstruct/testkit';
import { Redis } from 'ioredis';
import { createOrchestrator, type Orchestrator, type OrchestratorSettings } from '../src/index.ts';
import { type FakeLlmPool, startFakeLlmPool } from './fake-llm-pool.ts';

export const SLACK_TOKEN = 'xoxb-acme-bot-token';
export const GRAPH_TOKEN = 'EAAG-acme-access-token';

/** Everything an orchestrator test talks to: real Postgres, NATS, Redis; fake Slack, Graph and llm-pool. */
export interface Harness {
  db: TestDatabase;
  bus: TestBus;
  redis: Redis;
  prefix: string;
  slack: FakeSlack;
  graph: FakeGraph;
  llm: FakeLlmPool;
  publisher: Publisher;
  orchestrator: Orchestrator;
  credentialsKey: Buffer;
  settings: OrchestratorSettings;
  logs: Record<string, unknown>[];
  /** Every event in the test's stream so far, in order. */
  events(): Promise<KonstructEvent[]>;
  /** Waits until an event of `type` matching `where` is in the stream, and returns it. */
  waitForEvent<T extends EventType>(
    type: T,
    where?: (e: EventOf<T>) => boolean,
    timeoutMs?: number,
  ): Promise<EventOf<T>>;
  /** Waits until the orchestrator's consumers have nothing pending or unacknowledged. */
  settled(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts the harness and the orchestrator under test. */
export async function startHarness(
  overrides: Partial<OrchestratorSettings> = {},
  definitions: Parameters<typeof createOrchestrator>[0]['definitions'] = {},
): Promise<Harness> {
  const [db, bus, slack, graph, llm] = await Promise.all([
    createTestDatabase(),
    createTestBus(),
    startFakeSlack({ token: SLACK_TOKEN }),
    startFakeGraph({ accessToken: GRAPH_TOKEN }),
    startFakeLlmPool(),
  ]);
  const prefix = randomPrefix('kto');
  const redis = new Redis('redis://127.0.0.1:6379', { keyPrefix: prefix, maxRetriesPerRequest: 3 });
  const publisher = createPublisher(bus.js, bus.topology, { timeoutMs: 2_000 });
  const credentialsKey = randomBytes(32);
  const settings: OrchestratorSettings = {
    sessionWindowMessages: 20,
    llmPoolUrl: llm.url,
    llmTimeoutMs: 5_000,
    slackApiBaseUrl: slack.url,
    graphBaseUrl: graph.url,
    graphApiVersion: 'v23.0',
    engagedThreadTtlMs: 1_800_000,
    guardTtlMs: 120_000,
    platformTimeoutMs: 2_000,
    ...overrides,
  };
  const { logger, lines } = captureLogs('orchestrator', 'info');
  const orchestrator = createOrchestrator({
    js: bus.js,
    jsm: bus.jsm,
    topology: bus.topology,
    publisher,
    orm: db.orm,
    redis,
    logger,
    credentialsKey,
    settings,
    definitions,
  });
  await orchestrator.start();

  const seen = new Map<number, KonstructEvent>();
  async function events(): Promise<KonstructEvent[]> {
    const info = await bus.jsm.streams.info(bus.topology.streams.events);
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      if (seen.has(seq)) continue;
      const stored = await bus.jsm.streams.getMessage(bus.topology.streams.events, { seq });
      if (stored) seen.set(seq, parseEvent(stored.json()));
    }
    return [...seen.entries()].sort(([a], [b]) => a - b).map(([, e]) => e);
  }

  return {
    db,
    bus,
    redis,
    prefix,
    slack,
    graph,
    llm,
    publisher,
    orchestrator,
    credentialsKey,
    settings,
    logs: lines,
    events,
    async waitForEvent(type, where = () => true, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = (await events()).find((e) => e.type === type && where(e as never));
        if (found) return found as never;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no ${type} event within ${timeoutMs} ms`);
    },
    async settled(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        let busy = 0;
        for (const d of Object.values(orchestrator.definitions)) {
          const info = await bus.jsm.consumers.info(bus.topology.streams.events, d.name);
          busy += info.num_pending + info.num_ack_pending;
        }
        if (busy === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`consumers still busy after ${timeoutMs} ms`);
    },
    async close() {
      await orchestrator.stop();
      await Promise.all([slack.close(), graph.close(), llm.close()]);
      const keys = await redis.keys('*').catch(() => []);
      // keys() returns them with the prefix; del() would add it again
      if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length)));
      await redis.quit();
      await bus.close();
      await db.drop();
    },
  };
}

let counter = 0;

/** A Slack message as the gateway would normalise it: a mention in a channel, starting a thread under itself. */
export function slackMessage(
  tenantId: string,
  connectionId: string,
  overrides: Partial<KonstructMessage> = {},
): KonstructMessage {
  counter += 1;
  const ts = `1764151${String(200 + counter).padStart(3, '0')}.000${String(100 + counter)}`;
  return {
    tenantId,
    channel: 'slack',
    connectionId,
    workspaceId: 'T0ACME0001',
    channelId: 'C0GENERAL1',
    threadId: ts,
    platformMessageId: ts,
    sender: { id: 'U0HUMAN001', name: 'Dana', isBot: false },
    content: { text: `What are the opening hours? (#${counter})`, attachments: [] },
    sentAt: new Date().toISOString(),
    addressing: { direct: false, mentioned: true, inThread: false },
    platform: { channel_type: 'channel' },
    ...overrides,
  };
}

/** A WhatsApp text as the gateway would normalise it. */
export function whatsappMessage(
  tenantId: string,
  connectionId: string,
  overrides: Partial<KonstructMessage> = {},
): KonstructMessage {
  counter += 1;
  const waId = overrides.channelId ?? '16505551234';
  return {
    tenantId,
    channel: 'whatsapp',
    connectionId,
    workspaceId: '106540352242922',
    channelId: waId,
    threadId: waId,
    platformMessageId: `wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQz${counter}QTRBNjU5OUFFRTAzODEwMTQ0RgA=`,
    sender: { id: waId, name: 'Sheena Nelson', isBot: false },
    content: { text: `Does the blue jacket come in size M? (#${counter})`, attachments: [] },
    sentAt: new Date().toISOString(),
    addressing: { direct: true, mentioned: false, inThread: false },
    platform: {},
    ...overrides,
  };
}

/** A `message.routed` as the router would publish it. */
export function routed(
  message: KonstructMessage,
  agentId: string,
  overrides: { conversationId?: string } = {},
): EventOf<'message.routed'> {
  const cause = `slack:${message.workspaceId}:Ev${randomUUID().slice(0, 8)}`;
  return createEvent(
    {
      type: 'message.routed',
      id: `${cause}:message.routed`,
      source: '/test/router',
      tenantId: message.tenantId,
      correlationId: cause,
      causationId: cause,
      data: {
        message,
        agentId,
        conversationId: overrides.conversationId ?? conversationId(message),
        reason: message.addressing.direct ? 'direct' : 'mention',
      },
    },
    { clock: systemClock, ids: randomIds },
  );
}

/** A `message.rejected` as the router would publish it. */
export function rejected(
  message: KonstructMessage,
  reason: EventOf<'message.rejected'>['data']['reason'],
  notified: boolean,
): EventOf<'message.rejected'> {
  const cause = `slack:${message.workspaceId}:Ev${randomUUID().slice(0, 8)}`;
  return createEvent(
    {
      type: 'message.rejected',
      id: `${cause}:message.rejected`,
      source: '/test/router',
      tenantId: message.tenantId,
      correlationId: cause,
      causationId: cause,
      data: { message, reason, detail: `test ${reason}`, notified },
    },
    { clock: systemClock, ids: randomIds },
  );
}
