import { randomUUID } from 'node:crypto';
import {
  type ConsumerDefinition,
  createPublisher,
  ensureConsumer,
  type Publisher,
  REDRIVE_CONSUMER_HEADER,
  type RunningConsumer,
  startConsumer,
} from '@konstruct/bus';
import { derivedEventId, type KonstructEvent } from '@konstruct/contracts';
import { manualClock, NotFoundError } from '@konstruct/core';
import { tenantSubject } from '@konstruct/names';
import {
  captureLogs,
  createTestBus,
  createTestDatabase,
  type TestBus,
  type TestDatabase,
} from '@konstruct/testkit';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, createTenant, konstruct, waitFor } from './helpers.ts';
import { journey } from './journeys.ts';

let db: TestDatabase;
let bus: TestBus;
let env: Record<string, string>;
let publisher: Publisher;
let acme: string;
const running: RunningConsumer[] = [];
const clock = manualClock(Date.parse('2026-11-20T09:00:00Z'));

// the cause of the failures: the greeter's agent is missing until an operator fixes it
let agentMissing = true;
/** Each time the greeter acted on a message: the effect a user would notice (one greeting per message). */
const greetings: string[] = [];
/** Each time the auditor, another consumer of the same subject, saw a message. */
const audited: string[] = [];

function definition(name: string): ConsumerDefinition {
  return {
    name,
    stream: 'events',
    filterSubject: `${tenantSubject(bus.topology, acme, 'message.received')}.>`,
    ackWaitMs: 5_000,
    maxDeliver: 3,
    backoffMs: [100],
    concurrency: 4,
  };
}

function received(n: number): KonstructEvent {
  return journey({ tenantId: acme, agentId: randomUUID(), connectionId: randomUUID(), clock, n })[0]!;
}

async function letters(): Promise<{ id: number; eventId: string; reason: string; consumer: string }[]> {
  const run = await konstruct(env, ['dlq', 'list', '--json']);
  return run.out.map((l) => JSON.parse(l));
}

beforeAll(async () => {
  [db, bus] = await Promise.all([createTestDatabase(), createTestBus()]);
  env = cliEnv(db, bus);
  publisher = createPublisher(bus.js, bus.topology);
  acme = await createTenant(env, 'acme');
  for (const name of ['greeter', 'auditor']) await ensureConsumer(bus.jsm, bus.topology, definition(name));
  running.push(
    await startConsumer({
      js: bus.js,
      topology: bus.topology,
      definition: definition('greeter'),
      publisher,
      logger: captureLogs().logger,
      handler: async (event) => {
        if (agentMissing) throw new NotFoundError('no active agent for this channel');
        greetings.push(event.id);
        // what a real handler does next: publish its derived event, deduplicated by its derived id
        await publisher.publishRaw(
          tenantSubject(bus.topology, acme, 'agent.failed'),
          new TextEncoder().encode('{}'),
          derivedEventId(event.id, 'agent.failed'),
        );
      },
    }),
    await startConsumer({
      js: bus.js,
      topology: bus.topology,
      definition: definition('auditor'),
      publisher,
      logger: captureLogs().logger,
      handler: async (event) => {
        audited.push(event.id);
      },
    }),
  );
});
afterAll(async () => {
  for (const consumer of running) await consumer.stop();
  await bus?.close();
  await db?.drop();
});

describe('konstruct dlq', () => {
  const first = () => received(1);
  let e1: KonstructEvent;
  let e2: KonstructEvent;

  it('lists dead letters with their consumer, event and reason, and shows one in full', async () => {
    e1 = first();
    e2 = received(2);
    await publisher.publish(e1);
    await publisher.publish(e2);
    await waitFor(async () => (await letters()).length === 2);
    await waitFor(() => audited.length === 2);
    const list = await letters();
    expect(list.map((l) => [l.eventId, l.consumer, l.reason])).toEqual([
      [e1.id, 'greeter', 'not_found: no active agent for this channel'],
      [e2.id, 'greeter', 'not_found: no active agent for this channel'],
    ]);
    const table = await konstruct(env, ['dlq', 'list']);
    expect(table.out.join('\n').split('\n')[1]).toMatch(
      new RegExp(`^${list[0]!.id}\\s+\\S+\\s+greeter\\s+acme\\s+message\\.received\\s+1\\s+not_found`),
    );

    const show = await konstruct(env, ['dlq', 'show', String(list[0]!.id)]);
    expect(show.code).toBe(0);
    expect(show.out).toContain('reason:        not_found: no active agent for this channel');
    expect(show.out).toContain(`message id:    ${e1.id}`);
    expect(show.out.join('\n')).toContain(`"id": "${e1.id}"`);
  });

  it('a dead letter redriven after its cause is fixed produces its effect once, for its consumer only', async () => {
    agentMissing = false;
    const [letter] = await letters();
    const run = await konstruct(env, ['dlq', 'redrive', String(letter!.id)]);
    expect(run.code).toBe(0);
    expect(run.out[0]).toMatch(
      new RegExp(
        `^redrove #${letter!.id} \\(message\\.received ${e1.id}\\) to \\S+message\\.received\\.slack for greeter as #\\d+$`,
      ),
    );
    await waitFor(() => greetings.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(greetings).toEqual([e1.id]);
    // the auditor had handled the original; the redrive was not for it
    expect(audited.filter((id) => id === e1.id)).toHaveLength(1);
    expect((await letters()).map((l) => l.eventId)).toEqual([e2.id]);

    const again = await konstruct(env, ['dlq', 'redrive', String(letter!.id)]);
    expect(again).toMatchObject({ code: 1, err: [`konstruct: no dead letter #${letter!.id}`] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(greetings).toEqual([e1.id]);
  });

  it('a redrive interrupted before its dead letter was deleted, run again, puts the message back only once', async () => {
    const [letter] = await letters();
    // as if an earlier redrive had stored the message and died before deleting the dead letter
    const h = natsHeaders();
    h.set(REDRIVE_CONSUMER_HEADER, 'greeter');
    await bus.js.publish(
      `${tenantSubject(bus.topology, acme, 'message.received')}.slack`,
      JSON.stringify(e2),
      {
        msgID: `${e2.id}:redrive:${letter!.id}`,
        headers: h,
      },
    );
    const run = await konstruct(env, ['dlq', 'redrive', '--all']);
    expect(run.code).toBe(0);
    expect(run.out[0]).toMatch(/already stored at #\d+ by an earlier redrive/);
    await waitFor(() => greetings.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(greetings).toEqual([e1.id, e2.id]);
    expect(await letters()).toEqual([]);
    expect((await konstruct(env, ['dlq', 'redrive', '--all'])).out).toEqual(['no dead letters']);
  });

  it('an event of a schema version this build does not read is dead-lettered with the reason', async () => {
    const future = { ...received(3), schemaversion: 2 };
    await publisher.publishRaw(
      `${tenantSubject(bus.topology, acme, 'message.received')}.slack`,
      new TextEncoder().encode(JSON.stringify(future)),
      future.id,
    );
    await waitFor(async () => (await letters()).length === 2);
    const reasons = (await letters()).map((l) => [l.consumer, l.reason]).sort();
    expect(reasons).toEqual([
      ['auditor', 'validation_failed: message.received schema version 2 is not one this build reads (1)'],
      ['greeter', 'validation_failed: message.received schema version 2 is not one this build reads (1)'],
    ]);
    expect(greetings).not.toContain(future.id);
  });

  it.each([
    [['dlq', 'show', 'abc'], /^konstruct: id: expected a stream sequence/],
    [['dlq', 'show', '999999'], /^konstruct: no dead letter #999999$/],
    [['dlq', 'redrive'], /^konstruct: give a dead letter id or --all, not both$/],
    [['dlq', 'redrive', '1', '--all'], /^konstruct: give a dead letter id or --all, not both$/],
  ])('refuses %j with one line and exit 1, redriving nothing', async (args, message) => {
    const before = await letters();
    const run = await konstruct(env, args);
    expect(run.code).toBe(1);
    expect(run.err).toHaveLength(1);
    expect(run.err[0]).toMatch(message);
    expect(await letters()).toEqual(before);
  });
});
