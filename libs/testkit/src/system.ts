import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { type KonstructEvent, parseEvent } from '@konstruct/contracts';
import { connectChannel, createAgent, createTenant, credentialsKey } from '@konstruct/db';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import { createTestBus, type TestBus } from './bus.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { type FakeGraph, startFakeGraph } from './fake-graph.ts';
import { type FakeOllama, type FakeOllamaRequest, startFakeOllama } from './fake-ollama.ts';
import { type FakeSlack, startFakeSlack } from './fake-slack.ts';
import { fixture, slackSignatureHeaders, whatsappSignatureHeaders } from './fixtures.ts';
import { randomPrefix } from './misc.ts';
import { type ServiceName, type Stack, startStack } from './stack.ts';

/** The fixtures' ids, and a second tenant's. */
export const ACME = {
  team: 'T0ACME0001',
  bot: 'U0BOTMARA',
  botId: 'B0MARABOT1',
  phone: '106540352242922',
  channel: 'C0GENERAL1',
};
export const GLOBEX = { team: 'T0GLOBEX01', bot: 'U0HANK0001', channel: 'C0GLOBEX01' };

/** The whole pipeline as processes, with fake platforms and a fake model on loopback. */
export interface System {
  db: TestDatabase;
  bus: TestBus;
  redis: Redis;
  slack: FakeSlack;
  graph: FakeGraph;
  ollama: FakeOllama;
  stack: Stack;
  env: Record<string, string>;
  tenants: { acme: string; globex: string };
  gatewayUrl: string;
  /** Posts a Slack payload, signed as Slack signs it; resolves to the HTTP status. */
  slackEvent(body: unknown, headers?: Record<string, string>): Promise<number>;
  /** Posts a WhatsApp webhook, signed as Meta signs it. */
  whatsapp(body: unknown): Promise<number>;
  /** Every event on the tenant stream so far. */
  events(): Promise<KonstructEvent[]>;
  /** Waits until `predicate` holds over the stream's events; returns them. */
  waitForEvents(
    predicate: (events: KonstructEvent[]) => boolean,
    timeoutMs?: number,
  ): Promise<KonstructEvent[]>;
  restart(service: ServiceName): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A new Slack event from a fixture, with fresh ids so it is a new delivery. */
export function slackFixture(
  name: string,
  change: (body: Record<string, unknown> & { event: Record<string, unknown> }) => void = () => {},
) {
  const body = fixture<Record<string, unknown> & { event: Record<string, unknown> }>(`slack/${name}.json`);
  body.event_id = `Ev${randomBytes(6).toString('hex').toUpperCase()}`;
  change(body);
  return body;
}

/** A unique Slack `ts`. */
export function newTs(): string {
  return `${Math.floor(Date.now() / 1000)}.${randomBytes(3).readUIntBE(0, 3).toString().padStart(6, '0').slice(0, 6)}`;
}

/** Starts everything; `reply` is what the fake model answers. */
export async function startSystem({
  reply = (req: FakeOllamaRequest) => `answer to: ${req.messages.at(-1)?.content}`,
  llmGroups,
  extraEnv = {},
  rateLimitMessages,
}: {
  /** What the fake model answers. @default `answer to: <last message>` */
  reply?: (req: FakeOllamaRequest) => string | Promise<string>;
  /** LLM_GROUPS, given the fake model's URL. @default one group on the fake model */
  llmGroups?: (ollamaUrl: string) => string;
  /** More settings for every service. */
  extraEnv?: Record<string, string>;
  /** The demo tenants' own rate limit (per 60 s). @default the platform's */
  rateLimitMessages?: number;
} = {}): Promise<System> {
  const [db, bus, slack, graph, ollama] = await Promise.all([
    createTestDatabase(),
    createTestBus({ duplicateWindowMs: 3_600_000 }),
    startFakeSlack(),
    startFakeGraph(),
    startFakeOllama({ reply }),
  ]);
  const key = randomBytes(32);
  const limits = rateLimitMessages ? { rateLimitMessages, rateLimitWindowSeconds: 60 } : {};
  const acme = (await createTenant(db.orm, { name: 'Acme', slug: 'acme', ...limits })).id;
  const globex = (await createTenant(db.orm, { name: 'Globex', slug: 'globex', ...limits })).id;
  await createAgent(db.orm, acme, { name: 'Mara', role: 'support', persona: 'Mara helps Acme.' });
  await createAgent(db.orm, globex, { name: 'Hank', role: 'sales', persona: 'Hank sells for Globex.' });
  await connectChannel(db.orm, key, acme, {
    channelType: 'slack',
    workspaceId: ACME.team,
    botToken: 'xoxb-acme',
    botUserId: ACME.bot,
    botId: ACME.botId,
  });
  await connectChannel(db.orm, key, acme, {
    channelType: 'whatsapp',
    workspaceId: ACME.phone,
    accessToken: 'EAAG-acme',
  });
  await connectChannel(db.orm, key, globex, {
    channelType: 'slack',
    workspaceId: GLOBEX.team,
    botToken: 'xoxb-globex',
    botUserId: GLOBEX.bot,
  });
  const [gatewayPort, llmPort] = await Promise.all([freePort(), freePort()]);
  const redisPrefix = randomPrefix('e2e');
  const env: Record<string, string> = {
    LOG_LEVEL: 'info',
    NODE_ENV: 'test',
    NATS_URL: bus.natsUrl,
    NATS_STREAM: bus.topology.streams.events,
    NATS_OPS_STREAM: bus.topology.streams.ops,
    NATS_SUBJECT_PREFIX: bus.topology.prefix,
    NATS_DUPLICATE_WINDOW: '1h',
    DATABASE_URL: db.appUrl,
    DATABASE_OWNER_URL: db.ownerUrl,
    CREDENTIALS_KEY: credentialsKey(key.toString('base64')).toString('base64'),
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: redisPrefix,
    GATEWAY_PORT: String(gatewayPort),
    GATEWAY_HOST: '127.0.0.1',
    SLACK_SIGNING_SECRET: 'e2e-slack-secret',
    WHATSAPP_APP_SECRET: 'e2e-meta-secret',
    WHATSAPP_VERIFY_TOKEN: 'e2e-verify',
    LLM_POOL_PORT: String(llmPort),
    LLM_POOL_HOST: '127.0.0.1',
    LLM_POOL_URL: `http://127.0.0.1:${llmPort}`,
    OLLAMA_BASE_URL: ollama.url,
    OLLAMA_MODEL: 'llama3.2:3b',
    LLM_PROVIDER_TIMEOUT: '2s',
    SLACK_API_BASE_URL: slack.url,
    WHATSAPP_GRAPH_BASE_URL: graph.url,
    ...(llmGroups ? { LLM_GROUPS: llmGroups(ollama.url) } : {}),
    ...extraEnv,
  };
  const stack = startStack({ env });
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
  await redis.connect();

  async function waitReady(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (const url of [`${gatewayUrl}/readyz`, `http://127.0.0.1:${llmPort}/healthz`]) {
      while (
        !(await fetch(url).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (Date.now() > deadline) throw new Error(`${url} not ready; logs:\n${dumpLogs(stack)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    // the consumers exist once router, orchestrator and projections have started
    for (const name of ['router', 'orchestrator', 'delivery', 'projections'] as const) {
      while (
        !(await bus.jsm.consumers.info(bus.topology.streams.events, name).then(
          () => true,
          () => false,
        ))
      ) {
        if (Date.now() > deadline) throw new Error(`consumer ${name} missing; logs:\n${dumpLogs(stack)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
  await waitReady();

  const reader = `e2e_${randomUUID().slice(0, 8)}`;
  await bus.jsm.consumers.add(bus.topology.streams.events, {
    name: reader,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${bus.topology.prefix}tenant.>`,
  });
  const seen: KonstructEvent[] = [];
  async function events(): Promise<KonstructEvent[]> {
    const consumer = await bus.js.consumers.get(bus.topology.streams.events, reader);
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 500, expires: 1_000 });
      let n = 0;
      for await (const m of batch) {
        seen.push(parseEvent(m.json()));
        n += 1;
      }
      if (n < 500) break;
    }
    return seen;
  }

  return {
    db,
    bus,
    redis,
    slack,
    graph,
    ollama,
    stack,
    env,
    tenants: { acme, globex },
    gatewayUrl,
    async slackEvent(body, headers = {}) {
      const raw = JSON.stringify(body);
      const res = await fetch(`${gatewayUrl}/slack/events`, {
        method: 'POST',
        headers: { ...slackSignatureHeaders(env.SLACK_SIGNING_SECRET!, raw), ...headers },
        body: raw,
      });
      await res.arrayBuffer();
      return res.status;
    },
    async whatsapp(body) {
      const raw = JSON.stringify(body);
      const res = await fetch(`${gatewayUrl}/whatsapp/webhook`, {
        method: 'POST',
        headers: whatsappSignatureHeaders(env.WHATSAPP_APP_SECRET!, raw),
        body: raw,
      });
      await res.arrayBuffer();
      return res.status;
    },
    events,
    async waitForEvents(predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const all = await events();
        if (predicate(all)) return all;
        if (Date.now() > deadline) {
          throw new Error(
            `expected events did not arrive; have: ${all.map((e) => e.type).join(', ')}\nlogs:\n${dumpLogs(stack)}`,
          );
        }
      }
    },
    async restart(service) {
      stack.start(service);
      await waitReady();
    },
    async close() {
      await stack.stop();
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await Promise.all([slack.close(), graph.close(), ollama.close()]);
      await bus.close();
      await db.drop();
    },
  };
}

/** The last warning and error lines of every service, for a failing test's message. */
export function dumpLogs(stack: Stack): string {
  return [...stack.processes.values()]
    .flatMap((p) =>
      p.lines
        .filter((l) => typeof l.level !== 'number' || (l.level as number) >= 40)
        .slice(-8)
        .map((l) => `${p.name}: ${JSON.stringify(l)}`),
    )
    .join('\n');
}
