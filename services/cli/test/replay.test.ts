import { randomUUID } from 'node:crypto';
import { consumerDefinitions, createPublisher, ensureConsumer, type Publisher } from '@konstruct/bus';
import { encodeEvent, type KonstructEvent } from '@konstruct/contracts';
import { manualClock } from '@konstruct/core';
import { tenantSubject } from '@konstruct/names';
import { PROJECTION_NAMES, projectEvents, startProjectionConsumer } from '@konstruct/projections';
import {
  captureLogs,
  createTestBus,
  createTestDatabase,
  receipt,
  type TestBus,
  type TestDatabase,
} from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReplayRequest, replay } from '../src/ops/replay.ts';
import { cliEnv, createTenant, konstruct, waitFor } from './helpers.ts';
import { journey } from './journeys.ts';

const TABLES = ['conversations', 'messages', 'deliveries', 'delivery_receipts', 'llm_usage'];

let db: TestDatabase;
let bus: TestBus;
let env: Record<string, string>;
let publisher: Publisher;
let acme: string;
let globex: string;
const clock = manualClock(Date.parse('2026-11-20T09:00:00Z'));
let journeys = 0;

// one agent and one connection per tenant, as a tenant's channel is served by one agent
const agents = new Map<string, { agentId: string; connectionId: string }>();

async function publishJourneys(tenantId: string, count: number): Promise<KonstructEvent[]> {
  if (!agents.has(tenantId)) agents.set(tenantId, { agentId: randomUUID(), connectionId: randomUUID() });
  const { agentId, connectionId } = agents.get(tenantId)!;
  const events: KonstructEvent[] = [];
  for (let i = 0; i < count; i++) {
    for (const event of journey({ tenantId, agentId, connectionId, clock, n: journeys })) {
      await publisher.publish(event);
      events.push(event);
      clock.advance(250);
    }
    journeys += 1;
  }
  return events;
}

/** Every read-model row of a tenant, table by table, as JSON in a stable order: what "row by row" compares. */
async function snapshot(tenantId: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of TABLES) {
    out[table] = await db.superSql(
      `select to_jsonb(t)::text from ${table} t where tenant_id = '${tenantId}' order by 1`,
    );
  }
  return out;
}

/** A WhatsApp receipt for a message the agent posted. */
function receiptOf(delivered: KonstructEvent, status: 'delivered' | 'read', atMs: number): KonstructEvent {
  if (delivered.type !== 'delivery.succeeded') throw new Error('expected delivery.succeeded');
  const { workspaceId, platformMessageId } = delivered.data;
  return receipt(delivered.tenantid!, workspaceId, platformMessageId, status, atMs);
}

/** A full rebuild of every projection of a tenant, through replay's code path. */
function rebuild(tenantId: string, options: Partial<ReplayRequest> = {}) {
  return replay({
    orm: db.orm,
    js: bus.js,
    jsm: bus.jsm,
    topology: bus.topology,
    tenantId,
    projections: PROJECTION_NAMES,
    start: { kind: 'all' },
    end: { kind: 'now' },
    rebuild: true,
    ...options,
  });
}

async function deleteReadModels(tenantId: string): Promise<void> {
  for (const table of TABLES) await db.superSql(`delete from ${table} where tenant_id = '${tenantId}'`);
}

beforeAll(async () => {
  [db, bus] = await Promise.all([createTestDatabase(), createTestBus()]);
  env = cliEnv(db, bus);
  publisher = createPublisher(bus.js, bus.topology);
  acme = await createTenant(env, 'acme');
  globex = await createTenant(env, 'globex');
  // the history as the live projections would have left it
  const history = [...(await publishJourneys(acme, 60)), ...(await publishJourneys(globex, 40))];
  await projectEvents(db.orm, history);
});
afterAll(async () => {
  await bus?.close();
  await db?.drop();
});

describe('konstruct replay', () => {
  it('a rebuild after deleting a tenant’s read models restores them row by row, and leaves other tenants alone', async () => {
    const acmeBefore = await snapshot(acme);
    const globexBefore = await snapshot(globex);
    expect(acmeBefore.messages).toHaveLength(120);
    expect(acmeBefore.llm_usage).toHaveLength(60);
    await deleteReadModels(acme);
    // a row an earlier bad deploy mangled is put right too: the rebuild clears before it re-projects
    await db.superSql(`update messages set text = 'garbage' where tenant_id = '${globex}'`);
    const mangledGlobex = await snapshot(globex);

    const run = await konstruct(env, ['replay', '--tenant', 'acme', '--projection', 'all']);
    expect(run.code).toBe(0);
    expect(run.out[0]).toBe(`tenant acme (${acme})`);
    expect(run.out.join('\n')).toMatch(/replayed 240 events \(sequences 1\.\.240\)/);
    expect(await snapshot(acme)).toEqual(acmeBefore);
    expect(await snapshot(globex)).toEqual(mangledGlobex);

    await konstruct(env, ['replay', '--tenant', 'globex', '--projection', 'all']);
    expect(await snapshot(globex)).toEqual(globexBefore);
  });

  it('a range replay restores what is missing in its range, and run twice changes nothing the second time', async () => {
    const before = await snapshot(acme);
    await db.superSql(`delete from llm_usage where tenant_id = '${acme}'`);
    const first = await konstruct(env, [
      'replay',
      '--tenant',
      'acme',
      '--projection',
      'usage',
      '--from-seq',
      '121',
    ]);
    expect(first.code).toBe(0);
    expect(first.out.join('\n')).toMatch(/re-project usage from sequence 121 .*\(nothing cleared\)/);
    const afterFirst = await snapshot(acme);
    // the usage of journeys 30..59 (sequences 121..240) is back, the earlier one is not
    expect(afterFirst.llm_usage).toEqual(
      before.llm_usage!.filter((row) => afterFirst.llm_usage!.includes(row)),
    );
    expect(afterFirst.llm_usage).toHaveLength(30);
    expect({ ...afterFirst, llm_usage: [] }).toEqual({ ...before, llm_usage: [] });

    const second = await konstruct(env, [
      'replay',
      '--tenant',
      'acme',
      '--projection',
      'usage',
      '--from-seq',
      '121',
    ]);
    expect(second.code).toBe(0);
    expect(await snapshot(acme)).toEqual(afterFirst);

    const all = await konstruct(env, ['replay', '--tenant', 'acme', '--projection', 'all', '--since', '1d']);
    expect(all.code).toBe(0);
    expect(await snapshot(acme)).toEqual(before);
    await konstruct(env, ['replay', '--tenant', 'acme', '--projection', 'all', '--since', '1d']);
    expect(await snapshot(acme)).toEqual(before);
  });

  it('a rebuild during live traffic loses and duplicates nothing', async () => {
    const definition = consumerDefinitions(bus.topology).projections;
    await ensureConsumer(bus.jsm, bus.topology, definition);
    const live = await startProjectionConsumer({
      js: bus.js,
      orm: db.orm,
      topology: bus.topology,
      definition,
      publisher,
      logger: captureLogs().logger,
      batchSize: 50,
    });
    try {
      const caughtUp = async () => {
        const info = await bus.jsm.consumers.info(bus.topology.streams.events, definition.name);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      };
      await waitFor(caughtUp, 30_000);
      let traffic = 0;
      let publishing = true;
      const producer = (async () => {
        while (publishing) {
          await publishJourneys(acme, 1);
          await publishJourneys(globex, 1);
          traffic += 1;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      await waitFor(() => traffic >= 5);
      const before = traffic;
      const run = await konstruct(env, [
        'replay',
        '--tenant',
        'acme',
        '--projection',
        'all',
        '--batch-size',
        '40',
      ]);
      // the traffic really flowed while the rebuild ran
      expect(traffic).toBeGreaterThan(before);
      await waitFor(() => traffic >= 40, 30_000);
      publishing = false;
      await producer;
      expect(run.code).toBe(0);
      await waitFor(caughtUp, 30_000);

      const journeysOfAcme = 60 + traffic;
      const duringTraffic = await snapshot(acme);
      expect(duringTraffic.messages).toHaveLength(2 * journeysOfAcme);
      expect(duringTraffic.llm_usage).toHaveLength(journeysOfAcme);
      expect(duringTraffic.deliveries).toHaveLength(journeysOfAcme);
      const counts = await db.superSql(
        `select sum(messages_in), sum(messages_out) from conversations where tenant_id = '${acme}'`,
      );
      expect(counts).toEqual([`${journeysOfAcme}\t${journeysOfAcme}`]);
      // and exactly what one quiet pass over the stream makes of it
      const quiet = await konstruct(env, ['replay', '--tenant', 'acme', '--projection', 'all']);
      expect(quiet.code).toBe(0);
      const afterQuiet = await snapshot(acme);
      expect(afterQuiet).toEqual(duringTraffic);
    } finally {
      await live.stop();
    }
  });

  it('a rebuild writing several batches at once still counts every conversation and joins every receipt onto its delivery', async () => {
    const initech = await createTenant(env, 'initech');
    const events = await publishJourneys(initech, 40);
    const posted = events.filter((e) => e.type === 'delivery.succeeded' && e.data.channel === 'whatsapp');
    expect(posted).toHaveLength(10);
    // receipts after their delivery, and (as WhatsApp may send them) a late "delivered" after the "read"
    const receipts = posted.flatMap((delivered, i) => [
      receiptOf(delivered, 'read', clock.now() + 2 * i + 1),
      receiptOf(delivered, 'delivered', clock.now() + 2 * i),
    ]);
    for (const r of receipts) await publisher.publish(r);
    // the rows the live consumer leaves: everything in one transaction, counts and joins included
    await projectEvents(db.orm, [...events, ...receipts]);
    const live = await snapshot(initech);
    expect(live.deliveries!.filter((row) => row.includes('"platform_status": "read"'))).toHaveLength(10);
    const counts = await db.superSql(
      `select sum(messages_in), sum(messages_out) from conversations where tenant_id = '${initech}'`,
    );
    expect(counts).toEqual(['40\t40']);

    // batches of 7 events, four transactions at once: journeys and their receipts fall in different batches
    const summary = await rebuild(initech, {
      batchSize: 7,
      writers: 4,
    });
    expect(summary).toMatchObject({ events: 180, unreadable: 0, interrupted: false });
    expect(await snapshot(initech)).toEqual(live);
  });

  it('an interrupted rebuild leaves the rows it wrote with their conversation counts right', async () => {
    const hooli = await createTenant(env, 'hooli');
    await publishJourneys(hooli, 30);
    const stop = new AbortController();
    const summary = await rebuild(hooli, {
      batchSize: 10,
      onProgress: () => stop.abort(),
      signal: stop.signal,
    });
    expect(summary.interrupted).toBe(true);
    expect(summary.events).toBeGreaterThan(0);
    expect(summary.events).toBeLessThan(120);
    const [messages] = await db.superSql(`select count(*) from messages where tenant_id = '${hooli}'`);
    expect(Number(messages)).toBeGreaterThan(0);
    // every conversation counts exactly the messages stored in it
    const wrong = await db.superSql(
      `select c.id from conversations c
        where c.tenant_id = '${hooli}'
          and (c.messages_in, c.messages_out) <> (
            select count(*) filter (where m.direction = 'in'), count(*) filter (where m.direction = 'out')
              from messages m where m.tenant_id = c.tenant_id and m.conversation_id = c.id)`,
    );
    expect(wrong).toEqual([]);
  });

  it('a rebuild skips and reports events it cannot read or that claim another tenant, with their sequence and reason', async () => {
    const soylent = await createTenant(env, 'soylent');
    const events = await publishJourneys(soylent, 3);
    const subject = tenantSubject(bus.topology, soylent, 'message.received', 'slack');
    const garbage = await publisher.publishRaw(
      subject,
      new TextEncoder().encode('{"not": "an'),
      randomUUID(),
    );
    const future = { ...JSON.parse(JSON.stringify(events[0])), id: randomUUID(), schemaversion: 99 };
    const unknown = await publisher.publishRaw(
      subject,
      new TextEncoder().encode(JSON.stringify(future)),
      future.id,
    );
    // an event of Globex on Soylent's subject must reach neither tenant's rows
    const [smuggled] = journey({ tenantId: globex, ...agents.get(globex)!, clock, n: 9_999 });
    const stranger = await publisher.publishRaw(subject, encodeEvent(smuggled!), smuggled!.id);
    const messagesOf = async (tenantId: string) =>
      (await db.superSql(`select count(*) from messages where tenant_id = '${tenantId}'`))[0];
    const globexBefore = await messagesOf(globex);
    const logs = captureLogs();
    const summary = await rebuild(soylent, {
      logger: logs.logger,
    });
    expect(summary).toMatchObject({ events: 15, unreadable: 3 });
    const skipped = logs.lines.filter((line) => line.msg === 'unreadable event skipped by replay');
    expect(skipped.map((line) => [line.seq, line.tenantId])).toEqual([
      [garbage.seq, soylent],
      [unknown.seq, soylent],
      [stranger.seq, soylent],
    ]);
    expect(skipped[0]!.reason).toMatch(/payload is not JSON/);
    expect(skipped[1]!.reason).toMatch(/schema version 99 is not one this build reads/);
    expect(skipped[2]!.reason).toMatch(new RegExp(`belongs to tenant ${globex}, not ${soylent}`));
    expect(await messagesOf(soylent)).toBe('6');
    expect(await messagesOf(globex)).toBe(globexBefore);
  });

  it('--dry-run shows the tenant, what would be cleared, the range and the count, and changes nothing', async () => {
    await deleteReadModels(acme);
    const run = await konstruct(env, [
      'replay',
      '--tenant',
      'acme',
      '--projection',
      'messages,usage',
      '--dry-run',
    ]);
    expect(run.code).toBe(0);
    expect(run.out[0]).toBe(`tenant acme (${acme})`);
    expect(run.out[1]).toBe(
      'would rebuild messages, usage: clear them for acme, then re-project every event',
    );
    expect(run.out[2]).toBe(
      `stream ${bus.topology.streams.events}, subjects ${bus.topology.prefix}tenant.${acme}.>`,
    );
    expect(run.out[3]).toMatch(/^\d+ events, sequences 1\.\.\d+$/);
    expect(run.out[4]).toBe('dry run: nothing changed');
    expect(Object.values(await snapshot(acme)).flat()).toEqual([]);
    const range = await konstruct(env, [
      'replay',
      '--tenant',
      'acme',
      '--projection',
      'all',
      '--from-seq',
      '5',
      '--until-seq',
      '8',
      '--dry-run',
    ]);
    expect(range.out[1]).toBe(
      'would re-project conversations, messages, deliveries, usage from sequence 5 to sequence 8 (nothing cleared)',
    );
    expect(range.out[3]).toBe('4 events, sequences 5..8');
  });

  it.each([
    [['--tenant', 'nobody', '--projection', 'all'], /^konstruct: no tenant "nobody"$/],
    [
      ['--tenant', 'acme', '--projection', 'invoices'],
      /^konstruct: unknown projection "invoices" \(known: conversations, messages, deliveries, usage, or all\)$/,
    ],
    [
      ['--tenant', 'acme', '--projection', 'all', '--since', 'last tuesday'],
      /^konstruct: --since: expected an ISO 8601 time/,
    ],
    [
      ['--tenant', 'acme', '--projection', 'all', '--from-seq', '-3'],
      /^konstruct: --from-seq: expected a stream sequence/,
    ],
    [
      ['--tenant', 'acme', '--projection', 'all', '--from-seq', '9', '--until-seq', '4'],
      /^konstruct: --until-seq 4 is before --from-seq 9$/,
    ],
    [
      ['--tenant', 'acme', '--projection', 'all', '--until', '2026-02-30T25:00:00Z'],
      /^konstruct: --until: expected an ISO 8601 time/,
    ],
  ])('refuses %j with one line, exit 1, and changes nothing', async (args, message) => {
    await konstruct(env, ['replay', '--tenant', 'acme', '--projection', 'all']);
    const before = await snapshot(acme);
    await db.superSql(`delete from llm_usage where tenant_id = '${acme}'`);
    const damaged = await snapshot(acme);
    const run = await konstruct(env, ['replay', ...args]);
    expect(run.code).toBe(1);
    expect(run.err).toHaveLength(1);
    expect(run.err[0]).toMatch(message);
    expect(run.out).toEqual([]);
    expect(await snapshot(acme)).toEqual(damaged);
    expect(damaged).not.toEqual(before);
  });
});
