import { randomUUID } from 'node:crypto';
import { createEvent, derivedEventId, type KonstructEvent } from '@konstruct/contracts';
import { manualClock, randomIds } from '@konstruct/core';
import { createAgent, createTenant, tenantScope } from '@konstruct/db';
import { createTestDatabase, receipt, type TestDatabase } from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearProjections, PROJECTION_NAMES, projectEvents, usageByAgent } from '../src/index.ts';
import { journey } from './journeys.ts';

const TABLES = {
  conversations: 'tenant_id, id',
  messages: 'tenant_id, event_id',
  deliveries: 'tenant_id, event_id',
  delivery_receipts: 'tenant_id, channel, workspace_id, platform_message_id',
  llm_usage: 'tenant_id, event_id',
} as const;

let db: TestDatabase;
let acme: string;
let globex: string;
let acmeAgent: string;
let globexAgent: string;

beforeAll(async () => {
  db = await createTestDatabase();
  acme = (await createTenant(db.orm, { name: 'Acme', slug: 'acme' })).id;
  globex = (await createTenant(db.orm, { name: 'Globex', slug: 'globex' })).id;
  acmeAgent = (await createAgent(db.orm, acme, { name: 'Mara', role: 'support' })).id;
  globexAgent = (await createAgent(db.orm, globex, { name: 'Hank', role: 'sales' })).id;
});

afterAll(async () => {
  await db?.drop();
});

/** Every row of every read model, as the superuser sees them: the row-by-row picture to compare. */
async function snapshot(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [table, order] of Object.entries(TABLES)) {
    out[table] = await db.superSql(`select * from ${table} order by ${order}`);
  }
  return out;
}

/** One tenant's rows of a table, read as konstruct_app inside that tenant's scope. */
function rowsOf<T = Record<string, unknown>>(tenantId: string, sql: string): Promise<T[]> {
  return tenantScope(db.orm, tenantId).execute<T[]>(sql);
}

function journeys(tenantId: string, agentId: string, count: number, from = 0): KonstructEvent[] {
  return Array.from({ length: count }, (_, i) =>
    journey({ tenantId, agentId, index: from + i, channel: i % 2 === 0 ? 'slack' : 'whatsapp' }),
  ).flat();
}

/** A deterministic shuffle (mulberry32), so a failure is reproducible. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

describe('the read models of two tenants', () => {
  let acmeEvents: KonstructEvent[];
  let globexEvents: KonstructEvent[];

  beforeAll(async () => {
    acmeEvents = journeys(acme, acmeAgent, 12);
    globexEvents = journeys(globex, globexAgent, 5, 100);
    // one batch interleaving both tenants, as the stream would
    const batch = acmeEvents.flatMap((e, i) => [e, ...(globexEvents[i] ? [globexEvents[i]] : [])]);
    batch.push(...globexEvents.slice(acmeEvents.length));
    const result = await projectEvents(db.orm, batch);
    expect(result).toMatchObject({ events: batch.length, tenants: 2, skipped: 0 });
  });

  it('shows each tenant only its own conversations, messages, deliveries and usage (as konstruct_app)', async () => {
    for (const [tenant, messages] of [
      [acme, 12],
      [globex, 5],
    ] as const) {
      const rows = await rowsOf<{ tenant_id: string; direction: string; n: number }>(
        tenant,
        'select tenant_id, direction, count(*)::int as n from messages group by 1, 2 order by 2',
      );
      expect(rows).toEqual([
        { tenant_id: tenant, direction: 'in', n: messages },
        { tenant_id: tenant, direction: 'out', n: messages },
      ]);
      for (const table of ['conversations', 'deliveries', 'llm_usage', 'delivery_receipts']) {
        const tenants = await rowsOf<{ tenant_id: string }>(
          tenant,
          `select distinct tenant_id from ${table}`,
        );
        expect(tenants, table).toEqual([{ tenant_id: tenant }]);
      }
    }
    // and nothing at all with no tenant in scope
    const none = await db.orm.em.fork().execute('select count(*)::int as n from messages');
    expect(none).toEqual([{ n: 0 }]);
  });

  it('follows a message from received to delivered, with its reply', async () => {
    const [inbound] = await rowsOf(
      acme,
      `select direction, status, text, sender_id, conversation_id, agent_id, routed_at is not null as routed,
              delivered_at is not null as delivered from messages where event_id = 'slack:T0ACME0001:Ev${acme.slice(0, 8)}x0'`,
    );
    expect(inbound).toEqual({
      direction: 'in',
      status: 'delivered',
      text: 'question number 0',
      sender_id: 'U0PERSON01',
      conversation_id: 'slack:T0ACME0001:C0GENERAL1:1700000000.000000',
      agent_id: acmeAgent,
      routed: true,
      delivered: true,
    });
    const [reply] = await rowsOf(
      acme,
      `select status, text, kind, platform_message_id, in_reply_to from messages
        where direction = 'out' and in_reply_to = 'slack:T0ACME0001:Ev${acme.slice(0, 8)}x0'`,
    );
    expect(reply).toEqual({
      status: 'delivered',
      text: 'answer number 0',
      kind: 'answer',
      platform_message_id: '1700001000.000200',
      in_reply_to: `slack:T0ACME0001:Ev${acme.slice(0, 8)}x0`,
    });
  });

  it('counts messages per conversation and keeps first and last message times from the events', async () => {
    const conversations = await rowsOf<{ id: string; messages_in: number; messages_out: number }>(
      acme,
      `select id, messages_in, messages_out from conversations where channel = 'slack' order by id`,
    );
    // 6 slack journeys (even indexes) over 3 threads
    expect(conversations.map((c) => [c.messages_in, c.messages_out])).toEqual([
      [2, 2],
      [2, 2],
      [2, 2],
    ]);
    const [times] = await rowsOf<{ first: string; last: string }>(
      acme,
      `select first_message_at as first, last_message_at as last from conversations
        where id = 'slack:T0ACME0001:C0GENERAL1:1700000000.000000'`,
    );
    // journeys 0 and 6 are in this thread: sent 0.5 s before their first event, replied 815 ms after
    const base = Date.UTC(2026, 10, 26, 9, 0, 0);
    expect(new Date(times!.first).toISOString()).toBe(new Date(base - 500).toISOString());
    expect(new Date(times!.last).toISOString()).toBe(new Date(base + 6_000 + 815).toISOString());
  });

  it('joins a WhatsApp receipt onto its delivery', async () => {
    const rows = await rowsOf<{ outcome: string; platform_status: string }>(
      acme,
      `select outcome, platform_status from deliveries where channel = 'whatsapp'`,
    );
    expect(rows).toHaveLength(6);
    expect(new Set(rows.map((r) => `${r.outcome}/${r.platform_status}`))).toEqual(
      new Set(['succeeded/delivered']),
    );
  });

  it('sums LLM usage per agent', async () => {
    expect(await usageByAgent(db.orm, acme)).toEqual([
      {
        agentId: acmeAgent,
        model: 'llama3.2:3b',
        provider: 'ollama',
        replies: 12,
        // 100 + i prompt and 20 + i completion tokens for i in 0..11
        promptTokens: 1_266,
        completionTokens: 306,
        avgLatencyMs: 750,
      },
    ]);
    const late = new Date(Date.UTC(2026, 10, 26, 9, 0, 10));
    expect((await usageByAgent(db.orm, acme, late))[0]?.replies).toBe(2);
    expect(await usageByAgent(db.orm, globex)).toMatchObject([{ agentId: globexAgent, replies: 5 }]);
  });

  it('projecting the same batch again changes no row', async () => {
    const before = await snapshot();
    await projectEvents(db.orm, [...acmeEvents, ...globexEvents]);
    expect(await snapshot()).toEqual(before);
  });

  it("a replay into one tenant's emptied projections reproduces every row, and leaves the other tenant alone", async () => {
    const before = await snapshot();
    const deleted = await clearProjections(db.orm, acme, PROJECTION_NAMES);
    expect(deleted).toMatchObject({ messages: 24, llm_usage: 12, deliveries: 12, delivery_receipts: 6 });
    const emptied = await snapshot();
    expect(emptied.messages?.some((line) => line.includes(acme))).toBe(false);
    expect(emptied.messages?.filter((line) => line.includes(globex))).toHaveLength(10);
    // replay in batches of another size than the live run used
    for (let i = 0; i < acmeEvents.length; i += 7) {
      await projectEvents(db.orm, acmeEvents.slice(i, i + 7));
    }
    expect(await snapshot()).toEqual(before);
  });

  it('rebuilds one read model alone: cleared usage comes back, the others are untouched', async () => {
    const before = await snapshot();
    await clearProjections(db.orm, globex, ['usage']);
    expect(await usageByAgent(db.orm, globex)).toEqual([]);
    const result = await projectEvents(db.orm, globexEvents, { projections: ['usage'] });
    expect(result.rows).toEqual({ conversations: 0, messages: 0, deliveries: 0, receipts: 0, usage: 5 });
    expect(await snapshot()).toEqual(before);
  });
});

describe('order and redelivery', () => {
  it('events projected in any order, one per transaction, leave the same rows as in stream order', async () => {
    const tenant = (await createTenant(db.orm, { name: 'Vandelay', slug: `vandelay-${Date.now()}` })).id;
    const agent = (await createAgent(db.orm, tenant, { name: 'Bob', role: 'support' })).id;
    const events = journeys(tenant, agent, 8);
    await projectEvents(db.orm, events);
    const inOrder = await snapshot();
    await clearProjections(db.orm, tenant, PROJECTION_NAMES);
    for (const event of shuffled([...events, ...events.slice(0, 9)], 42))
      await projectEvents(db.orm, [event]);
    expect(await snapshot()).toEqual(inOrder);
  });

  it('a late "delivered" receipt does not take a read message back, whichever is projected first', async () => {
    const tenant = (await createTenant(db.orm, { name: 'Umbrella', slug: 'umbrella' })).id;
    const agent = (await createAgent(db.orm, tenant, { name: 'Ada', role: 'support' })).id;
    const events = journey({
      tenantId: tenant,
      agentId: agent,
      index: 1,
      channel: 'whatsapp',
      until: 'delivered',
    });
    const posted = (events.at(-1) as Extract<KonstructEvent, { type: 'delivery.succeeded' }>).data
      .platformMessageId;
    const at = Date.UTC(2026, 10, 26, 10, 0, 0);
    const read = receipt(tenant, '106540352242922', posted, 'read', at + 5_000);
    const delivered = receipt(tenant, '106540352242922', posted, 'delivered', at + 1_000);
    const sent = receipt(tenant, '106540352242922', posted, 'sent', at);

    // the read receipt even arrives before the delivery it belongs to
    await projectEvents(db.orm, [read]);
    await projectEvents(db.orm, events);
    await projectEvents(db.orm, [delivered]);
    await projectEvents(db.orm, [sent, delivered]);
    const rows = await rowsOf<{ platform_status: string; platform_status_at: string }>(
      tenant,
      'select platform_status, platform_status_at from deliveries',
    );
    expect(rows.map((r) => [r.platform_status, new Date(r.platform_status_at).getTime()])).toEqual([
      ['read', at + 5_000],
    ]);
  });

  it('a receipt and its delivery projected at the same moment by two transactions still join (live + replay race)', async () => {
    const tenant = (await createTenant(db.orm, { name: 'Vandelay', slug: `vandelay-${Date.now()}` })).id;
    const agent = (await createAgent(db.orm, tenant, { name: 'Milton', role: 'support' })).id;
    const at = Date.UTC(2026, 10, 26, 11, 0, 0);
    const pairs = Array.from({ length: 20 }, (_, index) => {
      const events = journey({
        tenantId: tenant,
        agentId: agent,
        index: 100 + index,
        channel: 'whatsapp',
        until: 'delivered',
      });
      const posted = (events.at(-1) as Extract<KonstructEvent, { type: 'delivery.succeeded' }>).data
        .platformMessageId;
      return { events, read: receipt(tenant, '106540352242922', posted, 'read', at + index) };
    });
    // each delivery and its receipt in two transactions racing each other
    await Promise.all(
      pairs.flatMap(({ events, read }) => [projectEvents(db.orm, events), projectEvents(db.orm, [read])]),
    );
    const rows = await rowsOf<{ platform_status: string | null }>(
      tenant,
      'select platform_status from deliveries',
    );
    expect(rows).toHaveLength(20);
    expect(rows.filter((r) => r.platform_status !== 'read')).toEqual([]);
  });

  it("a conversation's agent is its earliest message's, whichever order the events are projected in", async () => {
    const earlyFirst = (await createTenant(db.orm, { name: 'Wayne', slug: `wayne-${Date.now()}` })).id;
    const lateFirst = (await createTenant(db.orm, { name: 'Stark', slug: `stark-${Date.now()}` })).id;
    const agentsOf = async (tenant: string) => ({
      first: (await createAgent(db.orm, tenant, { name: 'First', role: 'support' })).id,
      second: (await createAgent(db.orm, tenant, { name: 'Second', role: 'support' })).id,
    });
    const start = Date.UTC(2026, 10, 26, 12, 0, 0);
    // the same thread (index % threads), handled first by one agent, an hour later by another
    const events = (tenant: string, agents: { first: string; second: string }) => [
      journey({ tenantId: tenant, agentId: agents.first, index: 0, threads: 1, startMs: start }),
      journey({ tenantId: tenant, agentId: agents.second, index: 1, threads: 1, startMs: start + 3_600_000 }),
    ];
    const a = await agentsOf(earlyFirst);
    const [a1, a2] = events(earlyFirst, a);
    await projectEvents(db.orm, a1!);
    await projectEvents(db.orm, a2!);
    const b = await agentsOf(lateFirst);
    const [b1, b2] = events(lateFirst, b);
    await projectEvents(db.orm, b2!);
    await projectEvents(db.orm, b1!);
    expect(await rowsOf(earlyFirst, 'select agent_id from conversations')).toEqual([{ agent_id: a.first }]);
    expect(await rowsOf(lateFirst, 'select agent_id from conversations')).toEqual([{ agent_id: b.first }]);
  });

  it('a reply projected after its delivery keeps the message delivered and fills in its text', async () => {
    const tenant = (await createTenant(db.orm, { name: 'Hooli', slug: 'hooli' })).id;
    const agent = (await createAgent(db.orm, tenant, { name: 'Gavin', role: 'support' })).id;
    const events = journey({ tenantId: tenant, agentId: agent, index: 3, until: 'delivered' });
    await projectEvents(db.orm, [...events].reverse());
    const rows = await rowsOf<{ direction: string; status: string; text: string }>(
      tenant,
      'select direction, status, text from messages order by direction',
    );
    expect(rows).toEqual([
      { direction: 'in', status: 'delivered', text: 'question number 3' },
      { direction: 'out', status: 'delivered', text: 'answer number 3' },
    ]);
  });
});

describe('the app role and odd input', () => {
  it('konstruct_app may read and write the read models but owns none of them', async () => {
    const grants = await db.superSql(`
      select c.relname, pg_get_userbyid(c.relowner),
             has_table_privilege('konstruct_app', c.oid, 'select, insert, update, delete')
        from pg_class c where c.relname in (${Object.keys(TABLES)
          .map((t) => `'${t}'`)
          .join(', ')}) order by 1`);
    expect(grants).toEqual(
      Object.keys(TABLES)
        .sort()
        .map((t) => `${t}\tkonstruct_owner\tt`),
    );
  });

  it('a rejected message stays rejected, with its reason, even after the rate-limit notice is delivered', async () => {
    const tenant = (await createTenant(db.orm, { name: 'Stark', slug: 'stark' })).id;
    const [received] = journey({ tenantId: tenant, agentId: randomUUID(), index: 4, until: 'received' });
    if (received?.type !== 'message.received') throw new Error('expected message.received');
    const deps = { clock: manualClock(Date.UTC(2026, 10, 26, 11)), ids: randomIds };
    const rejected = createEvent(
      {
        type: 'message.rejected',
        id: derivedEventId(received.id, 'message.rejected'),
        tenantId: tenant,
        source: '/konstruct/router',
        correlationId: received.id,
        causationId: received.id,
        data: {
          message: received.data.message,
          reason: 'rate_limited',
          detail: '31 messages in 60 s',
          notified: true,
        },
      },
      deps,
    );
    const notice = createEvent(
      {
        type: 'delivery.succeeded',
        id: derivedEventId(rejected.id, 'delivery.succeeded'),
        tenantId: tenant,
        source: '/konstruct/router',
        correlationId: received.id,
        causationId: rejected.id,
        data: {
          channel: 'slack',
          workspaceId: 'T0ACME0001',
          channelId: 'C0GENERAL1',
          threadId: received.data.message.threadId,
          replyEventId: rejected.id,
          platformMessageId: 'ephemeral',
          response: {},
        },
      },
      deps,
    );
    await projectEvents(db.orm, [received, notice, rejected]);
    const [inbound] = await rowsOf(
      tenant,
      `select status, rejection_reason, rejection_detail, conversation_id from messages where direction = 'in'`,
    );
    expect(inbound).toEqual({
      status: 'rejected',
      rejection_reason: 'rate_limited',
      rejection_detail: '31 messages in 60 s',
      conversation_id: null,
    });
    expect(await rowsOf(tenant, 'select id from conversations')).toEqual([]);
  });

  it('a message whose text holds a NUL character is projected, without it', async () => {
    const tenant = (await createTenant(db.orm, { name: 'Wayne', slug: 'wayne' })).id;
    const [event] = journey({ tenantId: tenant, agentId: randomUUID(), index: 5, until: 'received' });
    if (event?.type !== 'message.received') throw new Error('expected message.received');
    event.data.message.content.text = 'nul\u0000here \ud800';
    await projectEvents(db.orm, [event]);
    expect(await rowsOf(tenant, 'select text from messages')).toEqual([{ text: 'nulhere \ufffd' }]);
  });

  it('a message whose text holds quotes, backslashes, commas, braces, the word NULL, an emoji or nothing is stored as sent', async () => {
    const tenant = (await createTenant(db.orm, { name: 'Tyrell', slug: 'tyrell' })).id;
    const texts = [
      'say "hi", {please}',
      'C:\\temp\\new \\"x\\"',
      'NULL',
      '',
      ' spaced ',
      "it's\nmulti\tline",
      // whole surrogate pairs (an emoji) are kept, with and without a character to escape beside them
      'thanks 👋',
      'say "👋"',
    ];
    const events = texts.map((text, i) => {
      const [event] = journey({ tenantId: tenant, agentId: randomUUID(), index: 40 + i, until: 'received' });
      if (event?.type !== 'message.received') throw new Error('expected message.received');
      event.data.message.content.text = text;
      return event;
    });
    await projectEvents(db.orm, events);
    const rows = await rowsOf<{ text: string | null }>(tenant, 'select text from messages');
    expect(rows.map((r) => r.text).sort()).toEqual([...texts].sort());
  });

  it('refuses an unknown projection name', async () => {
    await expect(clearProjections(db.orm, acme, ['everything' as never])).rejects.toThrow(
      /unknown projection/,
    );
  });
});
