import { randomBytes, randomUUID } from 'node:crypto';
import { createPublisher, type Publisher } from '@konstruct/bus';
import {
  createEvent,
  derivedEventId,
  type EventOf,
  type KonstructEvent,
  type KonstructMessage,
  parseEvent,
} from '@konstruct/contracts';
import { manualClock, randomIds, UnavailableError } from '@konstruct/core';
import { connectChannel, createAgent, createTenant } from '@konstruct/db';
import { conversationId, deadLetterSubject, engagedThreadKey, rateLimitKey } from '@konstruct/names';
import {
  captureLogs,
  createTestBus,
  createTestDatabase,
  FIXTURE_IDS,
  randomPrefix,
  type TestBus,
  type TestDatabase,
} from '@konstruct/testkit';
import { AckPolicy, type ConsumerMessages, DeliverPolicy } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter, type Router } from '../src/index.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ENGAGED_TTL_MS = 30 * 60_000;

let bus: TestBus;
let db: TestDatabase;
let redis: Redis;
let raw: Redis;
let router: Router;
let reader: ConsumerMessages;
const prefix = randomPrefix('ktrouter');
const clock = manualClock(Date.now());
const { logger, lines } = captureLogs('router');
const outcomes: KonstructEvent[] = [];
// outcome publishes of these cause ids fail once, as if JetStream did not answer in time
const failOnce = new Set<string>();

interface TenantSetup {
  id: string;
  slug: string;
  slackConnection: string;
  workspaceId: string;
  agentId?: string;
  whatsappConnection?: string;
}
const t: Record<'acme' | 'globex' | 'lonely' | 'sleepy' | 'strict', TenantSetup> = {} as never;

async function setUpTenants(): Promise<void> {
  const key = randomBytes(32);
  const slack = (workspaceId: string, agentId?: string) => ({
    channelType: 'slack' as const,
    workspaceId,
    botToken: 'xoxb-test-token',
    botUserId: FIXTURE_IDS.slackBotUser,
    ...(agentId ? { agentId } : {}),
  });

  const acme = await createTenant(db.orm, { name: 'Acme', slug: 'acme' });
  const mara = await createAgent(db.orm, acme.id, { name: 'Mara', role: 'customer support' });
  const acmeSlack = await connectChannel(db.orm, key, acme.id, slack(FIXTURE_IDS.slackTeam));
  const acmeWa = await connectChannel(db.orm, key, acme.id, {
    channelType: 'whatsapp',
    workspaceId: FIXTURE_IDS.whatsappPhoneNumberId,
    accessToken: 'EAAG-test-token',
  });
  t.acme = {
    id: acme.id,
    slug: 'acme',
    slackConnection: acmeSlack.id,
    workspaceId: FIXTURE_IDS.slackTeam,
    agentId: mara.id,
    whatsappConnection: acmeWa.id,
  };

  const globex = await createTenant(db.orm, { name: 'Globex', slug: 'globex' });
  const hank = await createAgent(db.orm, globex.id, { name: 'Hank', role: 'sales' });
  const globexSlack = await connectChannel(db.orm, key, globex.id, slack('T0GLOBEX01'));
  t.globex = {
    id: globex.id,
    slug: 'globex',
    slackConnection: globexSlack.id,
    workspaceId: 'T0GLOBEX01',
    agentId: hank.id,
  };

  const lonely = await createTenant(db.orm, { name: 'Lonely', slug: 'lonely' });
  const lonelySlack = await connectChannel(db.orm, key, lonely.id, slack('T0LONELY01'));
  t.lonely = { id: lonely.id, slug: 'lonely', slackConnection: lonelySlack.id, workspaceId: 'T0LONELY01' };

  const sleepy = await createTenant(db.orm, { name: 'Sleepy', slug: 'sleepy' });
  const dozer = await createAgent(db.orm, sleepy.id, { name: 'Dozer', role: 'support', active: false });
  const sleepySlack = await connectChannel(db.orm, key, sleepy.id, slack('T0SLEEPY01', dozer.id));
  t.sleepy = {
    id: sleepy.id,
    slug: 'sleepy',
    slackConnection: sleepySlack.id,
    workspaceId: 'T0SLEEPY01',
    agentId: dozer.id,
  };

  const strict = await createTenant(db.orm, {
    name: 'Strict',
    slug: 'strict',
    rateLimitMessages: 3,
    rateLimitWindowSeconds: 60,
  });
  const sid = await createAgent(db.orm, strict.id, { name: 'Sid', role: 'support' });
  const strictSlack = await connectChannel(db.orm, key, strict.id, slack('T0STRICT01'));
  t.strict = {
    id: strict.id,
    slug: 'strict',
    slackConnection: strictSlack.id,
    workspaceId: 'T0STRICT01',
    agentId: sid.id,
  };
}

function flakyPublisher(inner: Publisher): Publisher {
  return {
    publishRaw: inner.publishRaw,
    async publish(event, options) {
      if (failOnce.delete(event.causationid) && event.type !== 'deadletter.recorded') {
        throw new UnavailableError('JetStream did not store it (test fault)');
      }
      return inner.publish(event, options);
    },
  };
}

beforeAll(async () => {
  [bus, db] = await Promise.all([createTestBus(), createTestDatabase()]);
  redis = new Redis(REDIS_URL, { keyPrefix: prefix });
  raw = new Redis(REDIS_URL);
  await setUpTenants();

  // read every routed and rejected event as it is stored
  const stream = bus.topology.streams.events;
  const name = `outcomes_${randomUUID().slice(0, 8)}`;
  await bus.jsm.consumers.add(stream, {
    name,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${bus.topology.prefix}tenant.*.message.*`,
  });
  reader = await (await bus.js.consumers.get(stream, name)).consume();
  void (async () => {
    for await (const m of reader) outcomes.push(parseEvent(m.json()));
  })();

  router = createRouter({
    js: bus.js,
    jsm: bus.jsm,
    topology: bus.topology,
    publisher: flakyPublisher(createPublisher(bus.js, bus.topology)),
    orm: db.orm,
    redis,
    logger,
    clock,
    ids: randomIds,
    settings: {
      rateLimitMessages: 30,
      rateLimitWindowMs: 60_000,
      engagedThreadTtlMs: ENGAGED_TTL_MS,
      decisionTtlMs: 3_600_000,
    },
  });
  await router.start();
});

afterAll(async () => {
  await router?.stop();
  await reader?.close();
  await bus?.close();
  await db?.drop();
  const keys = await raw.keys(`${prefix}*`);
  if (keys.length > 0) await raw.del(...keys);
  await redis?.quit();
  await raw?.quit();
});

let tsCounter = 0;
/** A fresh Slack `ts`, so every message has an id (and a root thread) of its own. */
function nextTs(): string {
  tsCounter += 1;
  return `1764151${String(200 + tsCounter).padStart(3, '0')}.${String(tsCounter).padStart(6, '0')}`;
}

/** A Slack message shaped like the fixtures (app_mention.json, message_in_thread.json, ...). */
function slackMessage(
  tenant: TenantSetup,
  options: {
    channelId?: string;
    direct?: boolean;
    mentioned?: boolean;
    threadTs?: string;
    sender?: string;
    text?: string;
  } = {},
): KonstructMessage {
  const ts = nextTs();
  return {
    tenantId: tenant.id,
    channel: 'slack',
    connectionId: tenant.slackConnection,
    workspaceId: tenant.workspaceId,
    channelId: options.channelId ?? FIXTURE_IDS.slackChannel,
    threadId: options.threadTs ?? ts,
    platformMessageId: ts,
    sender: { id: options.sender ?? 'U0HUMAN001', isBot: false },
    content: { text: options.text ?? "can you summarise yesterday's standup?", attachments: [] },
    sentAt: new Date(clock.now()).toISOString(),
    addressing: {
      direct: options.direct ?? false,
      mentioned: options.mentioned ?? false,
      inThread: options.threadTs !== undefined,
    },
    platform: { channel_type: options.direct ? 'im' : 'channel' },
  };
}

/** A WhatsApp text shaped like whatsapp/text.json. */
function whatsappMessage(): KonstructMessage {
  const wamid = `wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQz${randomBytes(6).toString('hex').toUpperCase()}`;
  return {
    tenantId: t.acme.id,
    channel: 'whatsapp',
    connectionId: t.acme.whatsappConnection!,
    workspaceId: FIXTURE_IDS.whatsappPhoneNumberId,
    channelId: FIXTURE_IDS.whatsappCustomer,
    threadId: FIXTURE_IDS.whatsappCustomer,
    platformMessageId: wamid,
    sender: { id: FIXTURE_IDS.whatsappCustomer, name: 'Sam Customer', isBot: false },
    content: { text: 'Hi, is my order 4417 on its way?', attachments: [] },
    sentAt: new Date(clock.now()).toISOString(),
    addressing: { direct: true, mentioned: false, inThread: false },
    platform: { display_phone_number: '15550001234' },
  };
}

async function send(
  message: KonstructMessage,
  id = `slack:${randomUUID()}`,
): Promise<EventOf<'message.received'>> {
  const event = createEvent(
    {
      type: 'message.received',
      id,
      source: '/konstruct/gateway',
      tenantId: message.tenantId,
      data: { message },
    },
    { clock, ids: randomIds },
  );
  await createPublisher(bus.js, bus.topology).publish(event);
  return event;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function outcomesOf(cause: KonstructEvent): KonstructEvent[] {
  return outcomes.filter((e) => e.causationid === cause.id);
}

async function outcomeOf(cause: KonstructEvent): Promise<KonstructEvent> {
  return until(`the outcome of ${cause.id}`, () => outcomesOf(cause)[0]);
}

async function routed(cause: KonstructEvent): Promise<EventOf<'message.routed'>> {
  const event = await outcomeOf(cause);
  expect(event.type, JSON.stringify(event.data)).toBe('message.routed');
  return event as EventOf<'message.routed'>;
}

async function rejected(cause: KonstructEvent): Promise<EventOf<'message.rejected'>> {
  const event = await outcomeOf(cause);
  expect(event.type).toBe('message.rejected');
  return event as EventOf<'message.rejected'>;
}

/** Resolves once the router has settled everything it was given. */
async function routerIdle(): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const info = await bus.jsm.consumers.info(bus.topology.streams.events, 'router');
    if (info.num_pending === 0 && info.num_ack_pending === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('router did not become idle');
}

async function tokens(tenant: TenantSetup, channelId: string): Promise<number> {
  return Number(await redis.hget(rateLimitKey(tenant.id, 'slack', channelId), 'tokens'));
}

describe('addressing', () => {
  it('routes a Slack DM to the agent, with ids derived from the input', async () => {
    const input = await send(slackMessage(t.acme, { channelId: 'D0DIRECT01', direct: true }));
    const event = await routed(input);
    expect(event.data).toMatchObject({ agentId: t.acme.agentId, reason: 'direct' });
    expect(event.data.conversationId).toBe(conversationId(input.data.message));
    expect(event.data.message).toEqual(input.data.message);
    expect(event.id).toBe(derivedEventId(input.id, 'message.routed'));
    expect(event.correlationid).toBe(input.correlationid);
    expect(event.causationid).toBe(input.id);
    expect(event.tenantid).toBe(t.acme.id);
    // a DM is addressed anyway: no engaged key is left behind for it
    const key = engagedThreadKey(t.acme.id, 'slack', 'D0DIRECT01', input.data.message.threadId);
    expect(await redis.exists(key)).toBe(0);
  });

  it('routes a mention and engages its thread for 30 minutes; a follow-up in the thread without a mention is routed', async () => {
    const mention = await send(slackMessage(t.acme, { mentioned: true }));
    expect((await routed(mention)).data.reason).toBe('mention');
    const thread = mention.data.message.threadId;
    const key = engagedThreadKey(t.acme.id, 'slack', FIXTURE_IDS.slackChannel, thread);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(ENGAGED_TTL_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(ENGAGED_TTL_MS);

    const followUp = await send(
      slackMessage(t.acme, { threadTs: thread, text: 'and list the action items' }),
    );
    const event = await routed(followUp);
    expect(event.data).toMatchObject({ reason: 'engaged_thread', agentId: t.acme.agentId });
    // the follow-up is in the same conversation as the mention that opened the thread
    expect(event.data.conversationId).toBe(conversationId(mention.data.message));
  });

  it('rejects channel chatter and replies in threads the agent is not engaged in as not_addressed, silently', async () => {
    const chatter = await send(slackMessage(t.acme, { text: 'lunch at noon?' }));
    expect((await rejected(chatter)).data).toMatchObject({ reason: 'not_addressed', notified: false });
    const stranger = await send(slackMessage(t.acme, { threadTs: '1764000000.000001' }));
    expect((await rejected(stranger)).data.reason).toBe('not_addressed');
  });

  it("does not let one tenant's engaged thread engage another tenant's thread with the same ids", async () => {
    const mention = await send(slackMessage(t.acme, { channelId: 'C0SHAREDID', mentioned: true }));
    await routed(mention);
    const sameIds = await send(
      slackMessage(t.globex, { channelId: 'C0SHAREDID', threadTs: mention.data.message.threadId }),
    );
    expect((await rejected(sameIds)).data.reason).toBe('not_addressed');
  });

  it('routes a WhatsApp customer message as direct', async () => {
    const input = await send(whatsappMessage(), `wa:${FIXTURE_IDS.whatsappPhoneNumberId}:${randomUUID()}`);
    const event = await routed(input);
    expect(event.data).toMatchObject({ reason: 'direct', agentId: t.acme.agentId });
    expect(event.data.conversationId).toBe(
      `whatsapp/${FIXTURE_IDS.whatsappPhoneNumberId}/${FIXTURE_IDS.whatsappCustomer}/${FIXTURE_IDS.whatsappCustomer}`,
    );
  });

  it('logs the decision with tenant, event and correlation ids, and never the message text', async () => {
    const input = await send(
      slackMessage(t.acme, { direct: true, channelId: 'D0LOGGED01', text: 'my secret plan' }),
    );
    await routed(input);
    const line = await until('the log line', () =>
      lines.find((l) => l.eventId === input.id && l.msg === 'message routed'),
    );
    expect(line).toMatchObject({ tenantId: t.acme.id, correlationId: input.correlationid, reason: 'direct' });
    expect(JSON.stringify(lines)).not.toContain('my secret plan');
  });
});

describe('which agent', () => {
  it('rejects no_agent with a detail an operator can act on', async () => {
    const input = await send(slackMessage(t.lonely, { direct: true, channelId: 'D0LONELY01' }));
    const event = await rejected(input);
    expect(event.data.reason).toBe('no_agent');
    expect(event.data.detail).toContain(
      'tenant lonely has no active agent; run konstruct agent create --tenant lonely',
    );
  });

  it("rejects agent_inactive when the connection's agent is switched off", async () => {
    const input = await send(slackMessage(t.sleepy, { mentioned: true }));
    const event = await rejected(input);
    expect(event.data.reason).toBe('agent_inactive');
    expect(event.data.detail).toContain(t.sleepy.agentId!);
  });
});

describe('rate limit', () => {
  it('refuses the 31st message in a minute with exactly one notice, leaves a second tenant alone, and refills', async () => {
    const channelId = 'C0BUSY0001';
    const burst = await Promise.all(
      Array.from({ length: 31 }, () => send(slackMessage(t.acme, { channelId, mentioned: true }))),
    );
    // the second tenant writes in a channel with the same id in the middle of the burst
    const other = await send(slackMessage(t.globex, { channelId, mentioned: true }));
    const results = await Promise.all(burst.map((input) => outcomeOf(input)));
    const refusedEvents = results.filter(
      (e): e is EventOf<'message.rejected'> => e.type === 'message.rejected',
    );
    expect(results.filter((e) => e.type === 'message.routed')).toHaveLength(30);
    expect(refusedEvents).toHaveLength(1);
    expect(refusedEvents[0]!.data).toMatchObject({ reason: 'rate_limited', notified: true });
    expect(refusedEvents[0]!.data.detail).toContain('30 messages per 60 s');
    expect((await routed(other)).data.agentId).toBe(t.globex.agentId);

    // still inside the window: refused again, and the person is not told a second time
    const more = [];
    for (let i = 0; i < 2; i++) more.push(await send(slackMessage(t.acme, { channelId, mentioned: true })));
    for (const input of more)
      expect((await rejected(input)).data).toMatchObject({ reason: 'rate_limited', notified: false });

    // 30 per 60 s refills a token every 2 s
    clock.advance(2_000);
    expect((await routed(await send(slackMessage(t.acme, { channelId, mentioned: true })))).data.reason).toBe(
      'mention',
    );
  });

  it("respects a tenant's own rate setting", async () => {
    const inputs = [];
    for (let i = 0; i < 4; i++) {
      inputs.push(await send(slackMessage(t.strict, { channelId: 'C0STRICT01', mentioned: true })));
    }
    // the router handles messages concurrently, so which of the four is refused is not fixed: one is
    const results = await Promise.all(inputs.map((input) => outcomeOf(input)));
    expect(results.filter((e) => e.type === 'message.routed')).toHaveLength(3);
    const refused = results.filter((e): e is EventOf<'message.rejected'> => e.type === 'message.rejected');
    expect(refused.map((e) => e.data)).toMatchObject([{ reason: 'rate_limited', notified: true }]);
  });

  it('chatter and rejected messages take no token', async () => {
    const channelId = 'C0CHATTY01';
    await routed(await send(slackMessage(t.acme, { channelId, mentioned: true })));
    const before = await tokens(t.acme, channelId);
    for (let i = 0; i < 3; i++) await rejected(await send(slackMessage(t.acme, { channelId })));
    expect(await tokens(t.acme, channelId)).toBe(before);
  });
});

describe('exactly once', () => {
  it('a redelivered input publishes nothing new and takes no second token', async () => {
    const channelId = 'C0REDELIV1';
    const input = await send(slackMessage(t.acme, { channelId, mentioned: true }));
    await routed(input);
    const after = await tokens(t.acme, channelId);
    expect(after).toBe(29);

    // the same event again under another message id: JetStream stores it, the router handles it a second time
    await createPublisher(bus.js, bus.topology).publish(input, { msgId: `again:${input.id}` });
    await routerIdle();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(outcomesOf(input)).toHaveLength(1);
    expect(await tokens(t.acme, channelId)).toBe(after);
  });

  it('a rate-limited message redelivered stays rejected and notified once', async () => {
    const inputs = [];
    for (let i = 0; i < 4; i++) {
      inputs.push(await send(slackMessage(t.strict, { channelId: 'C0STRICT02', mentioned: true })));
    }
    const results = await Promise.all(inputs.map((input) => outcomeOf(input)));
    const refused = inputs[results.findIndex((e) => e.type === 'message.rejected')]!;
    expect(refused).toBeDefined();
    clock.advance(60_000); // a window later there would be tokens again: the decision must not flip
    await createPublisher(bus.js, bus.topology).publish(refused, { msgId: `again:${refused.id}` });
    await routerIdle();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(outcomesOf(refused).map((e) => e.type)).toEqual(['message.rejected']);
    expect(await tokens(t.strict, 'C0STRICT02')).toBe(0);
  });

  it('when publishing the outcome fails, the redelivery publishes one outcome on the same token', async () => {
    const channelId = 'C0FLAKY001';
    const message = slackMessage(t.acme, { channelId, mentioned: true });
    const id = `slack:${randomUUID()}`;
    failOnce.add(id);
    const input = await send(message, id);
    // the first delivery took the token and then failed to publish; the nak brings it back after ~1 s
    const event = await routed(input);
    expect(failOnce.has(id)).toBe(false);
    expect(event.id).toBe(derivedEventId(input.id, 'message.routed'));
    await routerIdle();
    expect(outcomesOf(input)).toHaveLength(1);
    expect(await tokens(t.acme, channelId)).toBe(29);
    const retried = lines.find((l) => l.eventId === input.id && l.msg === 'message routed');
    expect(retried).toMatchObject({ replayed: true });
  });
});

describe('bad input', () => {
  it("dead-letters a message whose body names another tenant than its envelope, and touches neither tenant's state", async () => {
    const message = slackMessage(t.globex, { channelId: 'C0FORGED01', mentioned: true });
    const forged = createEvent(
      {
        type: 'message.received',
        id: `slack:${randomUUID()}`,
        source: '/konstruct/gateway',
        tenantId: t.acme.id,
        data: { message },
      },
      { clock, ids: randomIds },
    );
    await createPublisher(bus.js, bus.topology).publish(forged);
    const stream = bus.topology.streams.ops;
    const name = `dl_${randomUUID().slice(0, 8)}`;
    await bus.jsm.consumers.add(stream, {
      name,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      filter_subject: deadLetterSubject(bus.topology, 'router'),
    });
    const consumer = await bus.js.consumers.get(stream, name);
    const letters: KonstructEvent[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !letters.some((l) => l.causationid === forged.id)) {
      for await (const m of await consumer.fetch({ max_messages: 10, expires: 1_000 }))
        letters.push(parseEvent(m.json()));
    }
    const letter = letters.find((l) => l.causationid === forged.id) as
      | EventOf<'deadletter.recorded'>
      | undefined;
    expect(letter?.data.reason).toMatch(/names tenant/);
    expect(outcomesOf(forged)).toHaveLength(0);
    expect(await redis.exists(rateLimitKey(t.globex.id, 'slack', 'C0FORGED01'))).toBe(0);
    expect(await redis.exists(rateLimitKey(t.acme.id, 'slack', 'C0FORGED01'))).toBe(0);
  });

  it('keeps every key it writes under the tenant hash tag', async () => {
    const keys = (await raw.keys(`${prefix}*`)).map((k) => k.slice(prefix.length));
    expect(keys.length).toBeGreaterThan(0);
    const tenantIds = Object.values(t).map((x) => x.id);
    for (const key of keys) {
      const tag = /^\{([0-9a-f-]{36})\}:(ratelimit|idempotency|engaged|ratenotice):/.exec(key);
      expect(tag, key).not.toBeNull();
      expect(tenantIds).toContain(tag![1]);
    }
  });
});
