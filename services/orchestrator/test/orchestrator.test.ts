import type { Publisher } from '@konstruct/bus';
import { UnavailableError } from '@konstruct/core';
import {
  ChannelConnection,
  connectChannel,
  createAgent,
  createTenant,
  sealCredentials,
  withTenant,
} from '@konstruct/db';
import { conversationId, engagedThreadKey } from '@konstruct/names';
import { captureLogs } from '@konstruct/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AI_TRANSPARENCY_CLAUSE,
  APOLOGY_TEXT,
  createDeliveryHandler,
  createLlmPoolClient,
  createPlatformLinks,
  createReplyHandler,
  createSessionStore,
  createSlackThreadWriter,
  PLACEHOLDER_TEXT,
  RATE_LIMIT_NOTICE,
} from '../src/index.ts';
import { echo } from './fake-llm-pool.ts';
import {
  GRAPH_TOKEN,
  type Harness,
  rejected,
  routed,
  SLACK_TOKEN,
  slackMessage,
  startHarness,
  whatsappMessage,
} from './harness.ts';

let h: Harness;
const acme = { tenant: '', agent: '', slack: '', whatsapp: '' };
const globex = { tenant: '', agent: '', whatsapp: '' };
const broken = { tenant: '', agent: '', slack: '' };

beforeAll(async () => {
  // a short window and few, quick retries keep the retry and trimming tests fast
  h = await startHarness({ sessionWindowMessages: 4 }, { replies: { maxDeliver: 3, backoffMs: [100, 100] } });
  const { orm } = h.db;
  acme.tenant = (await createTenant(orm, { name: 'Acme Outdoor', slug: 'acme' })).id;
  acme.agent = (
    await createAgent(orm, acme.tenant, {
      name: 'Mara',
      role: 'the front desk of Acme Outdoor',
      persona: 'You know the shop, its opening hours and its jackets.',
      tone: 'warm and concise',
      systemPrompt: 'Answer questions about Acme Outdoor.',
    })
  ).id;
  acme.slack = (
    await connectChannel(orm, h.credentialsKey, acme.tenant, {
      channelType: 'slack',
      workspaceId: 'T0ACME0001',
      botToken: SLACK_TOKEN,
      botUserId: 'U0BOTMARA',
    })
  ).id;
  acme.whatsapp = (
    await connectChannel(orm, h.credentialsKey, acme.tenant, {
      channelType: 'whatsapp',
      workspaceId: '106540352242922',
      accessToken: GRAPH_TOKEN,
    })
  ).id;
  globex.tenant = (await createTenant(orm, { name: 'Globex', slug: 'globex' })).id;
  globex.agent = (await createAgent(orm, globex.tenant, { name: 'Hank', role: 'sales at Globex' })).id;
  globex.whatsapp = (
    await connectChannel(orm, h.credentialsKey, globex.tenant, {
      channelType: 'whatsapp',
      workspaceId: '106540352249999',
      accessToken: GRAPH_TOKEN,
    })
  ).id;
  broken.tenant = (await createTenant(orm, { name: 'Initech', slug: 'initech' })).id;
  broken.agent = (await createAgent(orm, broken.tenant, { name: 'Milton', role: 'support' })).id;
  broken.slack = (
    await connectChannel(orm, h.credentialsKey, broken.tenant, {
      channelType: 'slack',
      workspaceId: 'T0INITECH1',
      botToken: 'xoxb-to-be-removed',
      botUserId: 'U0BOTMILT',
    })
  ).id;
  // an operator's half-finished setup: the connection exists but its token is gone
  await withTenant(orm, broken.tenant, (em) =>
    em.nativeUpdate(
      ChannelConnection,
      { id: broken.slack },
      { credentials: sealCredentials(h.credentialsKey, {}) },
    ),
  );
}, 60_000);

afterAll(async () => {
  await h?.close();
});

beforeEach(() => {
  h.llm.respond = echo;
  h.llm.onRequest = undefined;
  h.slack.failWith(undefined);
  h.graph.failWith(undefined);
});

const requestsFor = (text: string) => h.llm.requests.filter((r) => r.messages.at(-1)?.content.includes(text));

describe('replying in Slack', () => {
  it('shows a "thinking" placeholder in the thread at once, then replaces it with the answer', async () => {
    const message = slackMessage(acme.tenant, acme.slack);
    const event = routed(message, acme.agent);
    let seenWhileThinking: { text?: string; thread_ts?: string }[] = [];
    h.llm.onRequest = () => {
      seenWhileThinking = h.slack.messages
        .filter((m) => m.thread_ts === message.threadId)
        .map((m) => ({ ...m }));
    };
    await h.publisher.publish(event);
    const replied = await h.waitForEvent('agent.replied', (e) => e.data.inReplyTo === event.id);
    const delivered = await h.waitForEvent('delivery.succeeded', (e) => e.data.replyEventId === replied.id);

    // while the model was thinking, the person already saw the placeholder in their thread
    expect(seenWhileThinking).toEqual([
      expect.objectContaining({ text: PLACEHOLDER_TEXT, thread_ts: message.threadId }),
    ]);
    // afterwards: one message in the thread, the same one, now holding the answer
    const inThread = h.slack.messages.filter((m) => m.thread_ts === message.threadId);
    expect(inThread).toHaveLength(1);
    expect(inThread[0]).toMatchObject({
      channel: 'C0GENERAL1',
      markdown_text: `Answer to: ${message.content.text}`,
      updates: 1,
    });
    expect(delivered.data).toMatchObject({
      platformMessageId: inThread[0]!.ts,
      channel: 'slack',
      threadId: message.threadId,
    });
    expect(delivered.id).toBe(`${replied.id}:delivery.succeeded`);
    expect(replied).toMatchObject({
      id: `${event.id}:agent.replied`,
      correlationid: event.correlationid,
      causationid: event.id,
      data: {
        kind: 'answer',
        model: 'fake-model:1b',
        provider: 'fake-local',
        usage: { promptTokens: 42, completionTokens: 7 },
        latencyMs: 12,
        conversationId: conversationId(message),
        reply: { text: `Answer to: ${message.content.text}` },
      },
    });
  });

  it('asks the pool for the agent’s model group with persona and the AI-transparency clause in the prompt', async () => {
    const message = slackMessage(acme.tenant, acme.slack);
    const event = routed(message, acme.agent);
    await h.publisher.publish(event);
    await h.waitForEvent('delivery.succeeded', (e) => e.data.replyEventId === `${event.id}:agent.replied`);
    const [request] = requestsFor(message.content.text);
    expect(request).toMatchObject({
      tenantId: acme.tenant,
      agentId: acme.agent,
      modelGroup: 'fast',
      correlationId: event.correlationid,
    });
    const system = request!.messages[0]!;
    expect(system.role).toBe('system');
    expect(system.content).toContain('Answer questions about Acme Outdoor.');
    expect(system.content).toContain('You are Mara, the front desk of Acme Outdoor.');
    expect(system.content).toContain('warm and concise');
    expect(system.content).toContain(AI_TRANSPARENCY_CLAUSE);
    expect(request!.messages.at(-1)).toEqual({ role: 'user', content: message.content.text });
  });

  it('keeps the thread engaged after answering in it, so follow-ups without a mention reach the agent', async () => {
    const message = slackMessage(acme.tenant, acme.slack);
    const event = routed(message, acme.agent);
    await h.publisher.publish(event);
    await h.waitForEvent('delivery.succeeded', (e) => e.data.replyEventId === `${event.id}:agent.replied`);
    const key = engagedThreadKey(acme.tenant, 'slack', 'C0GENERAL1', message.threadId);
    const ttl = await h.redis.pttl(key);
    expect(ttl).toBeGreaterThan(1_700_000);
    expect(ttl).toBeLessThanOrEqual(1_800_000);
  });

  it('answers a direct message inline, not in a thread', async () => {
    const message = slackMessage(acme.tenant, acme.slack, {
      channelId: 'D0DMHUMAN2',
      addressing: { direct: true, mentioned: false, inThread: false },
      platform: { channel_type: 'im' },
    });
    const event = routed(message, acme.agent);
    await h.publisher.publish(event);
    await h.waitForEvent('delivery.succeeded', (e) => e.data.replyEventId === `${event.id}:agent.replied`);
    const inDm = h.slack.messages.filter((m) => m.channel === 'D0DMHUMAN2');
    expect(inDm).toHaveLength(1);
    expect(inDm[0]).toMatchObject({
      thread_ts: undefined,
      markdown_text: `Answer to: ${message.content.text}`,
    });
  });
});

describe('replying in WhatsApp', () => {
  it('sends the answer quoting the customer’s message', async () => {
    const message = whatsappMessage(acme.tenant, acme.whatsapp, {
      channelId: '16505550001',
      threadId: '16505550001',
    });
    const event = routed(message, acme.agent);
    await h.publisher.publish(event);
    const delivered = await h.waitForEvent(
      'delivery.succeeded',
      (e) => e.data.replyEventId === `${event.id}:agent.replied`,
    );
    const sent = h.graph.messages.filter((m) => m.to === '16505550001');
    expect(sent).toEqual([
      expect.objectContaining({
        phoneNumberId: '106540352242922',
        replyTo: message.platformMessageId,
        text: `Answer to: ${message.content.text}`,
      }),
    ]);
    expect(delivered.data).toMatchObject({ channel: 'whatsapp', platformMessageId: sent[0]!.id });
    expect(h.graph.calls.at(-1)?.authorization).toBe(`Bearer ${GRAPH_TOKEN}`);
  });
});

describe('the session window', () => {
  async function say(message: ReturnType<typeof whatsappMessage>, agentId: string, conversation?: string) {
    const event = routed(message, agentId, conversation ? { conversationId: conversation } : {});
    await h.publisher.publish(event);
    await h.waitForEvent('delivery.succeeded', (e) => e.data.replyEventId === `${event.id}:agent.replied`);
    return requestsFor(message.content.text)
      .at(-1)!
      .messages.slice(1)
      .map((m) => `${m.role}: ${m.content}`);
  }

  it('holds the previous turns of this conversation and of no other conversation or tenant', async () => {
    const customer = { channelId: '16505550002', threadId: '16505550002' };
    const first = whatsappMessage(acme.tenant, acme.whatsapp, {
      ...customer,
      content: { text: 'I am Sam.', attachments: [] },
    });
    await say(first, acme.agent);
    const second = whatsappMessage(acme.tenant, acme.whatsapp, {
      ...customer,
      content: { text: 'What is my name?', attachments: [] },
    });
    expect(await say(second, acme.agent)).toEqual([
      'user: I am Sam.',
      'assistant: Answer to: I am Sam.',
      'user: What is my name?',
    ]);

    // another customer of the same tenant starts from nothing
    const other = whatsappMessage(acme.tenant, acme.whatsapp, {
      channelId: '16505550003',
      threadId: '16505550003',
      content: { text: 'Hello from someone else', attachments: [] },
    });
    expect(await say(other, acme.agent)).toEqual(['user: Hello from someone else']);

    // another tenant, even under the very same conversation id, sees nothing of Acme's
    const foreign = whatsappMessage(globex.tenant, globex.whatsapp, {
      ...customer,
      workspaceId: '106540352249999',
      content: { text: 'Globex here: what did Sam say?', attachments: [] },
    });
    expect(await say(foreign, globex.agent, conversationId(second))).toEqual([
      'user: Globex here: what did Sam say?',
    ]);
  });

  it('keeps only the last SESSION_WINDOW_MESSAGES messages', async () => {
    const customer = { channelId: '16505550004', threadId: '16505550004' };
    for (const text of ['one', 'two', 'three']) {
      await say(
        whatsappMessage(acme.tenant, acme.whatsapp, { ...customer, content: { text, attachments: [] } }),
        acme.agent,
      );
    }
    const last = await say(
      whatsappMessage(acme.tenant, acme.whatsapp, {
        ...customer,
        content: { text: 'four', attachments: [] },
      }),
      acme.agent,
    );
    // the window is 4 in this file: the two most recent exchanges, then the new message
    expect(last).toEqual([
      'user: two',
      'assistant: Answer to: two',
      'user: three',
      'assistant: Answer to: three',
      'user: four',
    ]);
  });
});

describe('when the models fail', () => {
  it('tells the person with a short apology in place of the placeholder, and records agent.failed', async () => {
    const message = slackMessage(acme.tenant, acme.slack, {
      content: { text: 'doomed question', attachments: [] },
    });
    h.llm.respond = (r) =>
      r.messages.at(-1)?.content === 'doomed question' ? { kind: 'all-failed' } : echo(r);
    const event = routed(message, acme.agent);
    await h.publisher.publish(event);
    const failed = await h.waitForEvent('agent.failed', (e) => e.data.inReplyTo === event.id);
    const replied = await h.waitForEvent('agent.replied', (e) => e.data.inReplyTo === event.id);
    await h.waitForEvent('delivery.succeeded', (e) => e.data.replyEventId === replied.id);

    expect(failed.data.attempts.map((a) => a.provider)).toEqual(['ollama-local', 'openai-backup']);
    expect(failed.data.reason).toContain('503');
    expect(replied.data).toMatchObject({ kind: 'apology', reply: { text: APOLOGY_TEXT } });
    const inThread = h.slack.messages.filter((m) => m.thread_ts === message.threadId);
    expect(inThread).toHaveLength(1);
    expect(inThread[0]).toMatchObject({ markdown_text: APOLOGY_TEXT, updates: 1 });
    // a pool that answered "everything failed" is not asked again
    expect(requestsFor('doomed question')).toHaveLength(1);
  });

  it('retries a saturated or unreachable pool, and apologises on the last delivery', async () => {
    const message = whatsappMessage(acme.tenant, acme.whatsapp, {
      channelId: '16505550005',
      threadId: '16505550005',
      content: { text: 'busy pool question', attachments: [] },
    });
    h.llm.respond = (r) => (r.messages.at(-1)?.content === 'busy pool question' ? { kind: 'busy' } : echo(r));
    const event = routed(message, acme.agent);
    await h.publisher.publish(event);
    const failed = await h.waitForEvent('agent.failed', (e) => e.data.inReplyTo === event.id);
    await h.waitForEvent('delivery.succeeded', (e) => e.data.replyEventId === `${event.id}:agent.replied`);
    expect(requestsFor('busy pool question')).toHaveLength(3);
    expect(failed.data.reason).toMatch(/still failing after 3 deliveries/);
    expect(h.graph.messages.filter((m) => m.to === '16505550005').map((m) => m.text)).toEqual([APOLOGY_TEXT]);
  });
});

describe('exactly once', () => {
  it('the same routed message delivered three times, two at once, yields one model call and one Slack message', async () => {
    const message = slackMessage(acme.tenant, acme.slack);
    const event = routed(message, acme.agent);
    // copies of the same event under other message ids (a redrive): JetStream stores and delivers each, and
    // the first two are handled concurrently
    await h.publisher.publish(event);
    await h.publisher.publish(event, { msgId: `${event.id}:copy` });
    await h.waitForEvent('delivery.succeeded', (e) => e.data.replyEventId === `${event.id}:agent.replied`);
    await h.publisher.publish(event, { msgId: `${event.id}:later-copy` });
    await h.settled();

    expect(requestsFor(message.content.text)).toHaveLength(1);
    const posts = h.slack.calls.filter(
      (c) => c.method === 'chat.postMessage' && c.body.thread_ts === message.threadId,
    );
    expect(posts).toHaveLength(1);
    expect(h.slack.messages.filter((m) => m.thread_ts === message.threadId)).toHaveLength(1);
    const outcomes = (await h.events()).filter(
      (e) => e.type === 'delivery.succeeded' && e.data.replyEventId === `${event.id}:agent.replied`,
    );
    expect(outcomes).toHaveLength(1);
  });

  it('a crash after the model answered (before agent.replied was stored) does not ask again or post twice', async () => {
    const message = slackMessage(acme.tenant, acme.slack);
    const event = routed(message, acme.agent);
    // the first attempt dies right when it publishes its answer, like a process killed at that point
    let publishes = 0;
    const flaky: Publisher = {
      publishRaw: h.publisher.publishRaw,
      async publish(e, options) {
        publishes += 1;
        if (publishes === 1) throw new UnavailableError('killed');
        return h.publisher.publish(e, options);
      },
    };
    const links = createPlatformLinks({
      orm: h.db.orm,
      credentialsKey: h.credentialsKey,
      slackBaseUrl: h.slack.url,
      graphBaseUrl: h.graph.url,
      graphApiVersion: 'v23.0',
    });
    const handler = createReplyHandler({
      orm: h.db.orm,
      redis: h.redis,
      publisher: flaky,
      sessions: createSessionStore({ redis: h.redis, windowMessages: 4, outcomeTtlMs: 60_000 }),
      llm: createLlmPoolClient({ baseUrl: h.llm.url, timeoutMs: 5_000 }),
      links,
      slackThreads: createSlackThreadWriter({ redis: h.redis, ttlMs: 60_000 }),
      maxDeliver: 3,
    });
    const context = (deliveryCount: number) => ({
      logger: captureLogs().logger,
      deliveryCount,
      streamSequence: 1,
      subject: 'test',
      signal: new AbortController().signal,
    });
    await expect(handler(event, context(1))).rejects.toBeInstanceOf(UnavailableError);
    await handler(event, context(2));
    await h.waitForEvent('delivery.succeeded', (e) => e.data.replyEventId === `${event.id}:agent.replied`);
    await h.settled();

    expect(requestsFor(message.content.text)).toHaveLength(1);
    const thread = h.slack.messages.filter((m) => m.thread_ts === message.threadId);
    expect(thread).toHaveLength(1);
    expect(thread[0]).toMatchObject({ markdown_text: `Answer to: ${message.content.text}` });
  });

  it('delivering the same agent.replied twice updates the one Slack message instead of posting again', async () => {
    const message = slackMessage(acme.tenant, acme.slack);
    const event = routed(message, acme.agent);
    await h.publisher.publish(event);
    const replied = await h.waitForEvent('agent.replied', (e) => e.data.inReplyTo === event.id);
    await h.waitForEvent('delivery.succeeded', (e) => e.data.replyEventId === replied.id);
    // the handler runs again for the same reply, as after a crash before its ack
    const deliver = createDeliveryHandler({
      redis: h.redis,
      publisher: h.publisher,
      links: createPlatformLinks({
        orm: h.db.orm,
        credentialsKey: h.credentialsKey,
        slackBaseUrl: h.slack.url,
        graphBaseUrl: h.graph.url,
        graphApiVersion: 'v23.0',
      }),
      slackThreads: createSlackThreadWriter({ redis: h.redis, ttlMs: 60_000 }),
      guardTtlMs: 60_000,
      engagedThreadTtlMs: 60_000,
      maxDeliver: 3,
    });
    const before = h.slack.calls.length;
    await deliver(replied, {
      logger: captureLogs().logger,
      deliveryCount: 2,
      streamSequence: 1,
      subject: 'test',
      signal: new AbortController().signal,
    });
    expect(h.slack.calls.length).toBe(before);
    expect(h.slack.messages.filter((m) => m.thread_ts === message.threadId)).toHaveLength(1);
  });
});

describe('deliveries that cannot succeed', () => {
  it('a connection without a bot token yields delivery.failed with a reason an operator can act on', async () => {
    const message = slackMessage(broken.tenant, broken.slack, {
      workspaceId: 'T0INITECH1',
      channelId: 'C0INITECH1',
    });
    const event = routed(message, broken.agent);
    await h.publisher.publish(event);
    const failed = await h.waitForEvent(
      'delivery.failed',
      (e) => e.data.replyEventId === `${event.id}:agent.replied`,
    );
    expect(failed.data.reason).toBe('connection has no bot token');
    expect(failed.tenantid).toBe(broken.tenant);
    expect(h.slack.calls.filter((c) => c.body.channel === 'C0INITECH1')).toHaveLength(0);
  });

  it('Slack refusing the channel yields delivery.failed naming Slack’s error', async () => {
    h.slack.failWith({ method: 'chat.postMessage', error: 'channel_not_found' });
    const message = slackMessage(acme.tenant, acme.slack, { channelId: 'C0ARCHIVED' });
    const event = routed(message, acme.agent);
    await h.publisher.publish(event);
    const failed = await h.waitForEvent(
      'delivery.failed',
      (e) => e.data.replyEventId === `${event.id}:agent.replied`,
    );
    expect(failed.data).toMatchObject({
      reason: 'slack: channel_not_found',
      response: { error: 'channel_not_found' },
    });
  });
});

describe('rate-limit notices', () => {
  it('tells a rate-limited Slack user once, privately, in their thread', async () => {
    const message = slackMessage(acme.tenant, acme.slack, {
      sender: { id: 'U0SPAMMER1', isBot: false },
      threadId: '1764150000.000100',
      addressing: { direct: false, mentioned: true, inThread: true },
    });
    const event = rejected(message, 'rate_limited', true);
    await h.publisher.publish(event);
    await h.publisher.publish(event, { msgId: `${event.id}:redrive` });
    const delivered = await h.waitForEvent('delivery.succeeded', (e) => e.data.replyEventId === event.id);
    await h.settled();
    const notices = h.slack.ephemerals.filter((e) => e.user === 'U0SPAMMER1');
    expect(notices).toEqual([
      expect.objectContaining({
        channel: 'C0GENERAL1',
        text: RATE_LIMIT_NOTICE,
        thread_ts: '1764150000.000100',
      }),
    ]);
    expect(delivered.data.platformMessageId).toBe(notices[0]!.message_ts);
  });

  it('says nothing for a rejection the router did not mark for notice, or that is not about the rate', async () => {
    const quiet = slackMessage(acme.tenant, acme.slack, { sender: { id: 'U0QUIET001', isBot: false } });
    await h.publisher.publish(rejected(quiet, 'rate_limited', false));
    await h.publisher.publish(rejected(quiet, 'not_addressed', false));
    await h.settled();
    expect(h.slack.ephemerals.filter((e) => e.user === 'U0QUIET001')).toHaveLength(0);
  });

  it('tells a rate-limited WhatsApp customer with a reply quoting their message', async () => {
    const message = whatsappMessage(acme.tenant, acme.whatsapp, {
      channelId: '16505550006',
      threadId: '16505550006',
    });
    const event = rejected(message, 'rate_limited', true);
    await h.publisher.publish(event);
    await h.waitForEvent('delivery.succeeded', (e) => e.data.replyEventId === event.id);
    expect(h.graph.messages.filter((m) => m.to === '16505550006')).toEqual([
      expect.objectContaining({ text: RATE_LIMIT_NOTICE, replyTo: message.platformMessageId }),
    ]);
  });
});
