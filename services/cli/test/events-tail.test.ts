import { randomUUID } from 'node:crypto';
import { createPublisher, ensureConsumer, type Publisher } from '@konstruct/bus';
import type { KonstructEvent } from '@konstruct/contracts';
import { manualClock } from '@konstruct/core';
import { tenantWildcard } from '@konstruct/names';
import { createTestBus, createTestDatabase, type TestBus, type TestDatabase } from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, createTenant, konstruct, waitFor } from './helpers.ts';
import { journey } from './journeys.ts';

let db: TestDatabase;
let bus: TestBus;
let env: Record<string, string>;
let publisher: Publisher;
let acme: string;
let globex: string;
const published: KonstructEvent[] = [];
const clock = manualClock(Date.parse('2026-11-20T09:00:00Z'));

beforeAll(async () => {
  [db, bus] = await Promise.all([createTestDatabase(), createTestBus()]);
  env = cliEnv(db, bus);
  publisher = createPublisher(bus.js, bus.topology);
  acme = await createTenant(env, 'acme');
  globex = await createTenant(env, 'globex');
  for (let n = 0; n < 6; n++) {
    const tenantId = n % 2 === 0 ? acme : globex;
    for (const event of journey({ tenantId, agentId: randomUUID(), connectionId: randomUUID(), clock, n })) {
      await publisher.publish(event);
      published.push(event);
      clock.advance(1_000);
    }
  }
});
afterAll(async () => {
  await bus?.close();
  await db?.drop();
});

describe('konstruct events tail', () => {
  it('--json prints one tenant’s stored events as NDJSON, in stream order, and nothing of the other tenant', async () => {
    const run = await konstruct(env, ['events', 'tail', '--tenant', 'acme', '--no-follow', '--json']);
    expect(run.code).toBe(0);
    const events = run.out.map((line) => JSON.parse(line) as KonstructEvent);
    expect(events.map((e) => e.id)).toEqual(published.filter((e) => e.tenantid === acme).map((e) => e.id));
  });

  it('prints a readable line per event: time, tenant slug, type, summary; --type narrows it', async () => {
    const run = await konstruct(env, ['events', 'tail', '--type', 'message.received', '--no-follow']);
    expect(run.code).toBe(0);
    expect(run.out).toHaveLength(6);
    expect(run.out[0]).toMatch(
      /^2026-11-20T09:00:00\.000Z {2}acme {10}message\.received {4}slack C0GENERAL1 from Person 0: "Hi Mara, question 0 about the invoice please"$/,
    );
    expect(run.out[1]).toContain('globex');
    const replies = await konstruct(env, [
      'events',
      'tail',
      '--type',
      'agent.replied',
      '--tenant',
      'globex',
      '--no-follow',
    ]);
    expect(replies.out).toHaveLength(3);
    expect(replies.out[0]).toMatch(
      /agent\.replied +answer by llama3\.2:3b \(ollama-local\), \d+\+\d+ tokens/,
    );
  });

  it('--since and --from-seq start later in the stream; --limit stops early', async () => {
    const bySeq = await konstruct(env, ['events', 'tail', '--from-seq', '21', '--no-follow', '--json']);
    expect(bySeq.out.map((l) => JSON.parse(l).id)).toEqual(published.slice(20).map((e) => e.id));
    const limited = await konstruct(env, ['events', 'tail', '--limit', '5', '--no-follow', '--json']);
    expect(limited.out).toHaveLength(5);
    // every event was stored just now, so a span back of an hour covers them all and a future time none
    const recent = await konstruct(env, ['events', 'tail', '--since', '1h', '--no-follow', '--json']);
    expect(recent.out).toHaveLength(published.length);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await konstruct(env, ['events', 'tail', '--since', future, '--no-follow', '--json']);
    expect(none).toMatchObject({ code: 0, out: [] });
  });

  it('follows new events as they are stored, and stops at --limit', async () => {
    const tail = konstruct(env, ['events', 'tail', '--tenant', 'acme', '--json', '--limit', '4']);
    // the tail starts at new events: give it a moment to open its consumer before publishing
    await new Promise((resolve) => setTimeout(resolve, 500));
    const fresh = journey({
      tenantId: acme,
      agentId: randomUUID(),
      connectionId: randomUUID(),
      clock,
      n: 99,
    });
    for (const event of journey({
      tenantId: globex,
      agentId: randomUUID(),
      connectionId: randomUUID(),
      clock,
      n: 98,
    }))
      await publisher.publish(event);
    for (const event of fresh) await publisher.publish(event);
    const run = await tail;
    expect(run.code).toBe(0);
    expect(run.out.map((l) => JSON.parse(l).id)).toEqual(fresh.map((e) => e.id));
  });

  it.each([
    [['--since', 'yesterday'], /^konstruct: --since: expected an ISO 8601 time/],
    [['--since', '2026-13-45T99:00:00Z'], /^konstruct: --since: expected an ISO 8601 time/],
    [['--from-seq', '0'], /^konstruct: --from-seq: expected a stream sequence/],
    [['--from-seq', '12abc'], /^konstruct: --from-seq: expected a stream sequence/],
    [['--since', '1h', '--from-seq', '3'], /^konstruct: give --since or --from-seq, not both$/],
    [['--type', 'message.teleported'], /^konstruct: unknown event type "message\.teleported"/],
    [['--tenant', 'nobody'], /^konstruct: no tenant "nobody"$/],
  ])('refuses %j with one line and exit 1', async (args, message) => {
    const run = await konstruct(env, ['events', 'tail', '--no-follow', ...args]);
    expect(run.code).toBe(1);
    expect(run.err).toHaveLength(1);
    expect(run.err[0]).toMatch(message);
    expect(run.out).toEqual([]);
  });
});

describe('konstruct streams status', () => {
  it('shows each stream’s size and range, and each consumer’s pending, redelivered and lag', async () => {
    await ensureConsumer(bus.jsm, bus.topology, {
      name: 'analytics',
      stream: 'events',
      filterSubject: tenantWildcard(bus.topology, acme),
      ackWaitMs: 30_000,
      maxDeliver: 3,
      backoffMs: [1_000],
      concurrency: 1,
    });
    const consumer = await bus.js.consumers.get(bus.topology.streams.events, 'analytics');
    const batch = await consumer.fetch({ max_messages: 3, expires: 2_000 });
    for await (const msg of batch) msg.ack();
    await waitFor(async () => (await consumer.info()).ack_floor.stream_seq > 0);

    const run = await konstruct(env, ['streams', 'status', '--json']);
    expect(run.code).toBe(0);
    const [events, ops] = run.out.map((l) => JSON.parse(l));
    const stored = (await bus.jsm.streams.info(bus.topology.streams.events)).state;
    expect(events).toMatchObject({
      stream: bus.topology.streams.events,
      messages: stored.messages,
      firstSeq: 1,
      lastSeq: stored.last_seq,
    });
    expect(events.bytes).toBeGreaterThan(0);
    expect(Date.parse(events.lastTime)).toBeGreaterThan(Date.now() - 60_000);
    expect(ops).toMatchObject({ stream: bus.topology.streams.ops, messages: 0 });
    const analytics = events.consumers.find((c: { consumer: string }) => c.consumer === 'analytics');
    const acmeCount = (await konstruct(env, ['events', 'tail', '--tenant', 'acme', '--no-follow', '--json']))
      .out.length;
    expect(analytics).toMatchObject({ pending: acmeCount - 3, ackPending: 0, redelivered: 0 });
    expect(analytics.lag).toBe(stored.last_seq - analytics.deliveredSeq);

    const readable = await konstruct(env, ['streams', 'status']);
    expect(readable.out.join('\n')).toMatch(/analytics\s+\S+tenant\.\S+\s+\d+\s+0\s+0\s+\d+\s+\d+/);
  });
});
