import { randomUUID } from 'node:crypto';
import {
  type ConsumerDefinition,
  consumerDefinitions,
  createPublisher,
  ensureConsumer,
  type Publisher,
} from '@konstruct/bus';
import { encodeEvent } from '@konstruct/contracts';
import { sleep } from '@konstruct/core';
import { createAgent, createTenant, tenantScope } from '@konstruct/db';
import { deadLetterSubject, tenantSubject } from '@konstruct/names';
import {
  captureLogs,
  createTestBus,
  createTestDatabase,
  type TestBus,
  type TestDatabase,
} from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clearProjections,
  PROJECTION_NAMES,
  projectEvents,
  type RunningProjections,
  startProjectionConsumer,
} from '../src/index.ts';
import { journey } from './journeys.ts';

let bus: TestBus;
let db: TestDatabase;
let publisher: Publisher;
let definition: ConsumerDefinition;
let running: RunningProjections;
let acme: string;
let globex: string;
let acmeAgent: string;
let globexAgent: string;
const logs = captureLogs('projections');

beforeAll(async () => {
  [bus, db] = await Promise.all([createTestBus(), createTestDatabase()]);
  publisher = createPublisher(bus.js, bus.topology);
  acme = (await createTenant(db.orm, { name: 'Acme', slug: 'acme' })).id;
  globex = (await createTenant(db.orm, { name: 'Globex', slug: 'globex' })).id;
  acmeAgent = (await createAgent(db.orm, acme, { name: 'Mara', role: 'support' })).id;
  globexAgent = (await createAgent(db.orm, globex, { name: 'Hank', role: 'sales' })).id;
  definition = consumerDefinitions(bus.topology).projections;
  await ensureConsumer(bus.jsm, bus.topology, definition);
  running = await startProjectionConsumer({
    js: bus.js,
    orm: db.orm,
    topology: bus.topology,
    definition,
    publisher,
    logger: logs.logger,
  });
});

afterAll(async () => {
  await running?.stop();
  await bus?.close();
  await db?.drop();
});

async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await sleep(50);
    value = await probe();
  }
  return value;
}

async function count(tenantId: string, table: string): Promise<number> {
  const [row] = await tenantScope(db.orm, tenantId).execute<{ n: number }[]>(
    `select count(*)::int as n from ${table}`,
  );
  return row?.n ?? 0;
}

/** Waits until the projections consumer holds no unacked and no undelivered message. */
async function settled(): Promise<{ pending: number; ackPending: number }> {
  return waitFor(
    async () => {
      const info = await bus.jsm.consumers.info(bus.topology.streams.events, definition.name);
      return { pending: info.num_pending, ackPending: info.num_ack_pending };
    },
    (s) => s.pending === 0 && s.ackPending === 0,
  );
}

async function snapshot(): Promise<string[][]> {
  return Promise.all(
    [
      'conversations order by tenant_id, id',
      'messages order by tenant_id, event_id',
      'deliveries order by tenant_id, event_id',
      'delivery_receipts order by tenant_id, platform_message_id',
      'llm_usage order by tenant_id, event_id',
    ].map((t) => db.superSql(`select * from ${t}`)),
  );
}

describe('the live projections consumer', () => {
  it('projects the events published for two tenants and acks every message', async () => {
    const events = [
      ...Array.from({ length: 40 }, (_, i) =>
        journey({
          tenantId: acme,
          agentId: acmeAgent,
          index: i,
          channel: i % 4 === 0 ? 'whatsapp' : 'slack',
        }),
      ).flat(),
      ...Array.from({ length: 10 }, (_, i) =>
        journey({ tenantId: globex, agentId: globexAgent, index: i }),
      ).flat(),
    ];
    await Promise.all(events.map((e) => publisher.publish(e)));
    // Slack retries: the same ingress id published again is dropped by the stream, and projected once
    await publisher.publish(events[0]!);

    expect(
      await waitFor(
        () => count(acme, 'deliveries'),
        (n) => n === 40,
      ),
    ).toBe(40);
    expect(
      await waitFor(
        () => count(globex, 'deliveries'),
        (n) => n === 10,
      ),
    ).toBe(10);
    expect(await count(acme, 'messages')).toBe(80);
    expect(await count(globex, 'messages')).toBe(20);
    expect(await count(acme, 'delivery_receipts')).toBe(10);
    expect(await settled()).toEqual({ pending: 0, ackPending: 0 });
  });

  it('a replay of the whole stream into emptied projections reproduces the live rows exactly', async () => {
    await settled();
    const live = await snapshot();
    const stream = await bus.readEvents(
      bus.topology.streams.events,
      `${bus.topology.prefix}tenant.>`,
      40 * 4 + 10 + 10 * 4,
    );
    expect(stream.length).toBe(210);
    await clearProjections(db.orm, acme, PROJECTION_NAMES);
    await clearProjections(db.orm, globex, PROJECTION_NAMES);
    expect(await count(acme, 'messages')).toBe(0);
    for (let i = 0; i < stream.length; i += 64) await projectEvents(db.orm, stream.slice(i, i + 64));
    expect(await snapshot()).toEqual(live);
  });

  it('dead-letters what it cannot project, with the reason, and still projects the rest of the batch', async () => {
    const garbage = tenantSubject(bus.topology, acme, 'message.received', 'slack');
    await publisher.publishRaw(
      garbage,
      new TextEncoder().encode('{"not": "an event"'),
      `bad-${randomUUID()}`,
    );
    // an event of Globex on Acme's subject must not reach either tenant's rows
    const [smuggled] = journey({ tenantId: globex, agentId: globexAgent, index: 900, until: 'received' });
    await publisher.publishRaw(garbage, encodeEvent(smuggled!), smuggled!.id);
    // a tenant the database does not know: every row would break its foreign key
    const ghost = randomUUID();
    const [orphan] = journey({ tenantId: ghost, agentId: randomUUID(), index: 901, until: 'received' });
    await publisher.publish(orphan!);
    const good = journey({ tenantId: acme, agentId: acmeAgent, index: 902, until: 'routed' });
    for (const e of good) await publisher.publish(e);

    const letters = await bus.readEvents(
      bus.topology.streams.ops,
      deadLetterSubject(bus.topology, definition.name),
      3,
    );
    const reasons = letters.map((l) => (l.type === 'deadletter.recorded' ? l.data.reason : ''));
    expect(reasons).toHaveLength(3);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/payload is not JSON/),
        expect.stringMatching(new RegExp(`event of tenant ${globex} on subject .*${acme}`)),
        expect.stringMatching(/^conflict: /),
      ]),
    );
    const orphanLetter = letters.find(
      (l) => l.type === 'deadletter.recorded' && l.data.messageId === orphan!.id,
    );
    expect(orphanLetter).toMatchObject({ tenantid: ghost, data: { consumer: 'projections', deliveries: 1 } });

    expect(
      await waitFor(
        () => count(acme, 'messages'),
        (n) => n === 81,
      ),
    ).toBe(81);
    const [row] = await tenantScope(db.orm, acme).execute(
      `select status from messages where event_id = '${good[0]!.id}'`,
    );
    expect(row).toEqual({ status: 'routed' });
    expect(await count(globex, 'messages')).toBe(20);
    expect(await settled()).toEqual({ pending: 0, ackPending: 0 });
  });

  it('acks nothing the database did not commit: a refused write is nak-ed and projected on redelivery', async () => {
    const tenant = (await createTenant(db.orm, { name: 'Initech', slug: 'initech' })).id;
    const agent = (await createAgent(db.orm, tenant, { name: 'Bob', role: 'support' })).id;
    await db.superSql('revoke insert on messages from konstruct_app');
    try {
      for (const e of journey({ tenantId: tenant, agentId: agent, index: 1, until: 'routed' })) {
        await publisher.publish(e);
      }
      const refused = await waitFor(
        async () => logs.lines.filter((l) => l.msg === 'event not projected' && l.tenantId === tenant),
        (lines) => lines.length >= 2,
      );
      expect(refused.map((l) => l.settlement)).toEqual(['nak', 'nak']);
      const info = await bus.jsm.consumers.info(bus.topology.streams.events, definition.name);
      expect(info.num_ack_pending + info.num_redelivered).toBeGreaterThan(0);
      expect(await count(tenant, 'messages')).toBe(0);
    } finally {
      await db.superSql('grant insert on messages to konstruct_app');
    }
    // the first redelivery comes after the definition's first backoff step (1 s)
    expect(
      await waitFor(
        () => count(tenant, 'messages'),
        (n) => n === 1,
      ),
    ).toBe(1);
    const [row] = await tenantScope(db.orm, tenant).execute('select status from messages');
    expect(row).toEqual({ status: 'routed' });
    expect(await settled()).toEqual({ pending: 0, ackPending: 0 });
  });

  it('stops cleanly: stop() resolves and the consumer is closed', async () => {
    await running.stop();
    await expect(running.closed).resolves.toBeUndefined();
    expect(logs.lines.some((l) => l.msg === 'projection consumer stopped')).toBe(true);
  });
});
