import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createPublisher } from '@konstruct/bus';
import { type EventOf, type KonstructEvent, parseEvent } from '@konstruct/contracts';
import { connectChannel, createAgent, createTenant } from '@konstruct/db';
import {
  createTestBus,
  createTestDatabase,
  type FakeSlack,
  randomPrefix,
  startFakeSlack,
  type TestBus,
  type TestDatabase,
} from '@konstruct/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PLACEHOLDER_TEXT } from '../src/index.ts';
import { echo, type FakeLlmPool, startFakeLlmPool } from './fake-llm-pool.ts';
import { routed, SLACK_TOKEN, slackMessage } from './harness.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const key = randomBytes(32);
let db: TestDatabase;
let bus: TestBus;
let slack: FakeSlack;
let llm: FakeLlmPool;
const children: ChildProcess[] = [];
const randomPrefixOnce = randomPrefix('ktr');

beforeAll(async () => {
  [db, bus, slack, llm] = await Promise.all([
    createTestDatabase(),
    createTestBus(),
    startFakeSlack({ token: SLACK_TOKEN }),
    startFakeLlmPool(),
  ]);
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${randomPrefixOnce}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await Promise.all([slack?.close(), llm?.close()]);
  await bus?.close();
  await db?.drop();
});

function startOrchestratorProcess(): ChildProcess {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      NATS_SUBJECT_PREFIX: bus.topology.prefix,
      NATS_STREAM: bus.topology.streams.events,
      NATS_OPS_STREAM: bus.topology.streams.ops,
      NATS_DUPLICATE_WINDOW: '120s',
      DATABASE_URL: db.appUrl,
      CREDENTIALS_KEY: key.toString('base64'),
      REDIS_KEY_PREFIX: randomPrefixOnce,
      LLM_POOL_URL: llm.url,
      SLACK_API_BASE_URL: slack.url,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function events(): Promise<KonstructEvent[]> {
  const info = await bus.jsm.streams.info(bus.topology.streams.events);
  const out: KonstructEvent[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
    const stored = await bus.jsm.streams.getMessage(bus.topology.streams.events, { seq });
    if (stored) out.push(parseEvent(stored.json()));
  }
  return out;
}

it('killing the orchestrator while the model is thinking, then starting it again, yields exactly one reply', async () => {
  const tenant = (await createTenant(db.orm, { name: 'Acme', slug: 'acme' })).id;
  const agent = (await createAgent(db.orm, tenant, { name: 'Mara', role: 'front desk' })).id;
  const connection = (
    await connectChannel(db.orm, key, tenant, {
      channelType: 'slack',
      workspaceId: 'T0ACME0001',
      botToken: SLACK_TOKEN,
      botUserId: 'U0BOTMARA',
    })
  ).id;
  const message = slackMessage(tenant, connection);
  const event = routed(message, agent);

  // the first process gets as far as asking the model, which never answers, and is killed right there
  llm.respond = () => ({ kind: 'hang' });
  const first = startOrchestratorProcess();
  await createPublisher(bus.js, bus.topology).publish(event);
  await until('the model call', () => (llm.requests.length > 0 ? true : undefined));
  expect(slack.messages.map((m) => m.text)).toEqual([PLACEHOLDER_TEXT]);
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));

  // a new process picks the message up once its ack wait has run out, and answers
  llm.respond = echo;
  startOrchestratorProcess();
  const delivered = await until('delivery.succeeded', async () =>
    (await events()).find(
      (e): e is EventOf<'delivery.succeeded'> =>
        e.type === 'delivery.succeeded' && e.data.replyEventId === `${event.id}:agent.replied`,
    ),
  );

  const thread = slack.messages.filter((m) => m.thread_ts === message.threadId);
  expect(thread).toHaveLength(1);
  expect(thread[0]).toMatchObject({ markdown_text: `Answer to: ${message.content.text}`, updates: 1 });
  expect(delivered.data.platformMessageId).toBe(thread[0]!.ts);
  const all = await events();
  expect(all.filter((e) => e.type === 'agent.replied')).toHaveLength(1);
  expect(all.filter((e) => e.type === 'delivery.succeeded')).toHaveLength(1);
}, 120_000);
