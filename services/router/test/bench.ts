/**
 * Router throughput: publishes N `message.received` events (mentions spread over tenants and channels so
 * that none is rate limited) and measures, from the router's own stream, messages/s decided and the
 * p50/p99 time from a message being stored to its outcome being stored. Real NATS, Postgres and Redis.
 *
 *   npm run bench -w @konstruct/router            # 5,000 messages
 *   BENCH_MESSAGES=20000 npm run bench -w @konstruct/router
 *   BENCH_RATE=200 npm run bench -w @konstruct/router   # offer 200 messages/s instead of all at once
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createPublisher } from '@konstruct/bus';
import { createEvent, type KonstructMessage, parseEvent } from '@konstruct/contracts';
import { createLogger, randomIds, systemClock } from '@konstruct/core';
import { connectChannel, createAgent, createTenant } from '@konstruct/db';
import { createTestBus, createTestDatabase, randomPrefix } from '@konstruct/testkit';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import { createRouter } from '../src/index.ts';

const TOTAL = Number(process.env.BENCH_MESSAGES ?? 5_000);
const TENANTS = 10;
const CHANNELS_PER_TENANT = Math.max(1, Math.ceil(TOTAL / TENANTS / 25));

const bus = await createTestBus();
const db = await createTestDatabase();
const prefix = randomPrefix('ktbench');
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { keyPrefix: prefix });
const key = randomBytes(32);

const tenants: { id: string; connection: string; workspaceId: string }[] = [];
for (let i = 0; i < TENANTS; i++) {
  const tenant = await createTenant(db.orm, { name: `Bench ${i}`, slug: `bench-${i}` });
  await createAgent(db.orm, tenant.id, { name: 'Mara', role: 'support' });
  const workspaceId = `T0BENCH${String(i).padStart(3, '0')}`;
  const connection = await connectChannel(db.orm, key, tenant.id, {
    channelType: 'slack',
    workspaceId,
    botToken: 'xoxb-bench',
    botUserId: 'U0BOTMARA',
  });
  tenants.push({ id: tenant.id, connection: connection.id, workspaceId });
}

const router = createRouter({
  js: bus.js,
  jsm: bus.jsm,
  topology: bus.topology,
  publisher: createPublisher(bus.js, bus.topology),
  orm: db.orm,
  redis,
  logger: createLogger({ service: 'router-bench', level: 'warn' }),
  settings: {
    rateLimitMessages: 30,
    rateLimitWindowMs: 60_000,
    engagedThreadTtlMs: 30 * 60_000,
    decisionTtlMs: 3_600_000,
  },
});
await router.start();

const stored = new Map<string, number>();
const decided = new Map<string, number>();
const stream = bus.topology.streams.events;
const name = `bench_${randomUUID().slice(0, 8)}`;
await bus.jsm.consumers.add(stream, {
  name,
  ack_policy: AckPolicy.None,
  deliver_policy: DeliverPolicy.New,
  filter_subject: `${bus.topology.prefix}tenant.*.message.*`,
});
const reader = await (await bus.js.consumers.get(stream, name)).consume();
const { promise: allDecided, resolve: done } = Promise.withResolvers<void>();
const outcomes = { routed: 0, rejected: 0 };
void (async () => {
  for await (const m of reader) {
    const event = parseEvent(m.json());
    decided.set(event.causationid, Date.now());
    if (event.type === 'message.routed') outcomes.routed += 1;
    else outcomes.rejected += 1;
    if (decided.size >= TOTAL) done();
  }
})();

const publisher = createPublisher(bus.js, bus.topology);
function message(i: number): KonstructMessage {
  const tenant = tenants[i % TENANTS]!;
  const ts = `1764151200.${String(i).padStart(6, '0')}`;
  return {
    tenantId: tenant.id,
    channel: 'slack',
    connectionId: tenant.connection,
    workspaceId: tenant.workspaceId,
    channelId: `C0CHAN${String(Math.floor(i / TENANTS) % CHANNELS_PER_TENANT).padStart(4, '0')}`,
    threadId: ts,
    platformMessageId: ts,
    sender: { id: 'U0HUMAN001', isBot: false },
    content: { text: 'what is on my calendar today?', attachments: [] },
    sentAt: new Date().toISOString(),
    addressing: { direct: false, mentioned: true, inThread: false },
    platform: {},
  };
}

const started = Date.now();
// unpaced, the figure is throughput (and the latency is mostly queueing); paced below the throughput, the
// latency is the router's own
const RATE = Number(process.env.BENCH_RATE ?? 0);
const WINDOW = RATE > 0 ? Math.max(1, Math.round(RATE / 20)) : 256;
for (let i = 0; i < TOTAL; i += WINDOW) {
  if (RATE > 0) {
    const due = started + (i / RATE) * 1000;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
  }
  await Promise.all(
    Array.from({ length: Math.min(WINDOW, TOTAL - i) }, async (_, j) => {
      const m = message(i + j);
      const event = createEvent(
        { type: 'message.received', source: '/bench', tenantId: m.tenantId, data: { message: m } },
        { clock: systemClock, ids: randomIds },
      );
      await publisher.publish(event);
      stored.set(event.id, Date.now());
    }),
  );
}
await Promise.race([allDecided, new Promise((resolve) => setTimeout(resolve, 120_000))]);
const elapsedMs = Date.now() - started;

const latencies = [...decided].map(([id, at]) => at - (stored.get(id) ?? at)).sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify(
    {
      messages: TOTAL,
      offeredPerSecond: RATE > 0 ? RATE : 'unpaced',
      decided: decided.size,
      routed: outcomes.routed,
      rejected: outcomes.rejected,
      tenants: TENANTS,
      channels: TENANTS * CHANNELS_PER_TENANT,
      elapsedMs,
      messagesPerSecond: Math.round((decided.size / elapsedMs) * 1000),
      storedToDecidedMs: { p50: pct(50), p99: pct(99), max: latencies.at(-1) ?? 0 },
    },
    null,
    2,
  )}\n`,
);

await router.stop();
await reader.close();
await bus.close();
await db.drop();
const raw = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const keys = await raw.keys(`${prefix}*`);
for (let i = 0; i < keys.length; i += 500) await raw.del(...keys.slice(i, i + 500));
await raw.quit();
await redis.quit();
