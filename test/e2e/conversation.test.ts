// End to end through the real gateway, router, orchestrator, llm-pool and projections (each its own process),
// against the real NATS, Postgres and Redis, with a fake Slack Web API, Graph API and Ollama on loopback.
import type { KonstructEvent } from '@konstruct/contracts';
import { clearProjections, PROJECTION_NAMES, projectEvents } from '@konstruct/projections';
import { ACME, fixture, GLOBEX, newTs, type System, slackFixture, startSystem } from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let system: System;

beforeAll(async () => {
  system = await startSystem();
}, 120_000);
afterAll(async () => {
  await system?.close();
});

const repliesTo = (events: KonstructEvent[], ts: string) =>
  events.filter((e) => e.type === 'agent.replied' && e.data.message.platformMessageId === ts);
const deliveredFor = (events: KonstructEvent[], replyIds: string[]) =>
  events.filter((e) => e.type === 'delivery.succeeded' && replyIds.includes(e.data.replyEventId));
const rejectedFor = (events: KonstructEvent[], ts: string) =>
  events.filter((e) => e.type === 'message.rejected' && e.data.message.platformMessageId === ts);

/** What a person sees of a posted message (answers go as `markdown_text`, plain text as `text`). */
const shown = (m: { text: string | undefined; markdown_text: string | undefined }) =>
  m.markdown_text ?? m.text;

/** Sends an @mention in a new thread of `channel`; resolves to its ts once the reply was delivered. */
/** A person's reply in a thread, without a mention, as Slack delivers it. */
function inThread(root: string, ts: string, text: string): Promise<number> {
  return system.slackEvent(
    slackFixture('message_in_thread', (b) => {
      b.event = { ...b.event, ts, event_ts: ts, thread_ts: root, text };
    }),
  );
}

async function mention(text: string, channel = ACME.channel): Promise<string> {
  const ts = newTs();
  const status = await system.slackEvent(
    slackFixture('app_mention', (b) => {
      b.event = { ...b.event, ts, event_ts: ts, channel, text: `<@${ACME.bot}> ${text}` };
    }),
  );
  expect(status).toBe(200);
  await system.waitForEvents(
    (all) =>
      deliveredFor(
        all,
        repliesTo(all, ts).map((e) => e.id),
      ).length === 1,
  );
  return ts;
}

/** An @mention of Globex's agent in Globex's workspace (the second tenant); resolves to its ts. */
async function globexMention(text: string, channel = GLOBEX.channel): Promise<string> {
  const ts = newTs();
  const authorization = {
    enterprise_id: null,
    team_id: GLOBEX.team,
    user_id: GLOBEX.bot,
    is_bot: true,
    is_enterprise_install: false,
  };
  expect(
    await system.slackEvent(
      slackFixture('app_mention', (b) => {
        b.team_id = GLOBEX.team;
        b.context_team_id = GLOBEX.team;
        b.authorizations = [authorization];
        b.event = { ...b.event, ts, event_ts: ts, channel, text: `<@${GLOBEX.bot}> ${text}` };
      }),
    ),
  ).toBe(200);
  return ts;
}

describe('a Slack conversation', () => {
  it('a mention in a channel gets one threaded reply, the "thinking" placeholder replaced by the answer', async () => {
    const ts = await mention("can you summarise yesterday's standup?");
    const inThread = system.slack.messages.filter((m) => m.thread_ts === ts);
    expect(inThread).toHaveLength(1);
    expect(inThread[0]!.channel).toBe(ACME.channel);
    expect(shown(inThread[0]!)).toBe("answer to: can you summarise yesterday's standup?");
    expect(inThread[0]!.updates).toBeGreaterThanOrEqual(1);
  });

  it('a follow-up in that thread without a mention gets a reply; channel chatter gets none', async () => {
    const root = await mention('please track the action items');
    const followTs = newTs();
    await inThread(root, followTs, 'and list the open ones too');
    const chatterTs = newTs();
    await system.slackEvent(
      slackFixture('message_channel_no_mention', (b) => {
        b.event = { ...b.event, ts: chatterTs, event_ts: chatterTs };
      }),
    );
    const all = await system.waitForEvents(
      (events) => repliesTo(events, followTs).length === 1 && rejectedFor(events, chatterTs).length === 1,
    );
    expect(rejectedFor(all, chatterTs)[0]).toMatchObject({ data: { reason: 'not_addressed' } });
    await system.waitForEvents(
      (events) =>
        deliveredFor(
          events,
          repliesTo(events, followTs).map((e) => e.id),
        ).length === 1,
    );
    const thread = system.slack.messages.filter((m) => m.thread_ts === root);
    expect(thread.map(shown)).toEqual([
      'answer to: please track the action items',
      'answer to: and list the open ones too',
    ]);
    expect(system.slack.messages.some((m) => m.thread_ts === chatterTs)).toBe(false);
  });

  it('a follow-up sent right after the mention, before the agent answered, is still answered', async () => {
    const root = newTs();
    const followTs = newTs();
    await system.slackEvent(
      slackFixture('app_mention', (b) => {
        b.event = { ...b.event, ts: root, event_ts: root, text: `<@${ACME.bot}> two quick questions` };
      }),
    );
    // no waiting: the router judges one thread's messages in the order they arrived
    await inThread(root, followTs, 'and the second one');
    const all = await system.waitForEvents(
      (events) => repliesTo(events, root).length === 1 && repliesTo(events, followTs).length === 1,
    );
    expect(rejectedFor(all, followTs)).toEqual([]);
  });

  it("other bots, the agent's own echo and edits get no reply and never reach the router", async () => {
    const before = system.slack.calls.length;
    const stamps: string[] = [];
    for (const name of ['bot_message', 'own_reply_echo', 'message_changed']) {
      const ts = newTs();
      stamps.push(ts);
      expect(
        await system.slackEvent(
          slackFixture(name, (b) => {
            b.event = { ...b.event, ts, event_ts: ts };
          }),
        ),
      ).toBe(200);
    }
    // a later mention is answered, so everything sent before it has been through the pipeline
    await mention('are you there?');
    const all = await system.events();
    expect(
      all.filter((e) => e.type === 'message.received' && stamps.includes(e.data.message.platformMessageId)),
    ).toEqual([]);
    const newCalls = system.slack.calls.slice(before).filter((c) => c.method === 'chat.postMessage');
    expect(newCalls).toHaveLength(1);
  });

  it('a direct message gets a reply', async () => {
    const ts = newTs();
    await system.slackEvent(
      slackFixture('message_im', (b) => {
        b.event = { ...b.event, ts, event_ts: ts };
      }),
    );
    const all = await system.waitForEvents(
      (events) =>
        deliveredFor(
          events,
          repliesTo(events, ts).map((e) => e.id),
        ).length === 1,
    );
    const dm = fixture<{ event: { channel: string; text: string } }>('slack/message_im.json').event;
    expect(repliesTo(all, ts)[0]).toMatchObject({ data: { kind: 'answer' } });
    // in a DM the answer goes to the conversation itself, not into a thread
    const answer = system.slack.messages.find(
      (m) => m.channel === dm.channel && shown(m) === `answer to: ${dm.text}`,
    );
    expect(answer).toBeDefined();
  });

  it('the same Slack event delivered three times (the original and two retries) yields one reply', async () => {
    const ts = newTs();
    const body = slackFixture('app_mention', (b) => {
      b.event = { ...b.event, ts, event_ts: ts, text: `<@${ACME.bot}> only once, please` };
    });
    expect(await system.slackEvent(body)).toBe(200);
    expect(
      await system.slackEvent(body, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' }),
    ).toBe(200);
    expect(
      await system.slackEvent(body, { 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_timeout' }),
    ).toBe(200);
    // Slack also delivers the same post as a `message` event with its own event id
    expect(
      await system.slackEvent(
        slackFixture('message_channel_no_mention', (b) => {
          b.event = { ...b.event, ts, event_ts: ts, text: `<@${ACME.bot}> only once, please` };
        }),
      ),
    ).toBe(200);
    await system.waitForEvents(
      (events) =>
        deliveredFor(
          events,
          repliesTo(events, ts).map((e) => e.id),
        ).length === 1,
    );
    await mention('a later question, so the retries have been through the pipeline');
    const all = await system.events();
    expect(
      all.filter((e) => e.type === 'message.received' && e.data.message.platformMessageId === ts),
    ).toHaveLength(1);
    expect(repliesTo(all, ts)).toHaveLength(1);
    expect(
      system.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.thread_ts === ts),
    ).toHaveLength(1);
    const [rows] = await system.db.superSql(
      `select count(*) from messages where direction = 'in' and platform_message_id = '${ts}'`,
    );
    expect(rows).toBe('1');
  });

  it("the model sees this conversation's previous turns and no other conversation's or tenant's", async () => {
    const root = await mention('my order number is 4471');
    await mention('the secret word elsewhere is pineapple');
    // another tenant's conversation
    const globexTs = await globexMention('globex quarterly numbers');
    await system.waitForEvents((events) => repliesTo(events, globexTs).length === 1);
    const followTs = newTs();
    await inThread(root, followTs, 'what was my order number?');
    await system.waitForEvents((events) => repliesTo(events, followTs).length === 1);
    const call = system.ollama.requests.find(
      (r) => r.messages.at(-1)?.content === 'what was my order number?',
    );
    const prompt = call!.messages.map((m) => m.content).join('\n');
    expect(call!.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(prompt).toContain('my order number is 4471');
    expect(prompt).toContain('answer to: my order number is 4471');
    expect(prompt).not.toContain('pineapple');
    expect(prompt).not.toContain('globex quarterly numbers');
    expect(call!.messages[0]!.content).toMatch(/AI/);
    const globexCall = system.ollama.requests.find(
      (r) => r.messages.at(-1)?.content === 'globex quarterly numbers',
    );
    expect(globexCall!.messages[0]!.content).toContain('Hank');
    expect(globexCall!.messages.map((m) => m.content).join('\n')).not.toMatch(/4471|pineapple|Mara/);
  });
});

describe('WhatsApp', () => {
  it('a customer text gets a reply quoting it', async () => {
    const body = fixture<{
      entry: { changes: { value: { messages: { id: string; text: { body: string } }[] } }[] }[];
    }>('whatsapp/text.json');
    const wamid = `wamid.E2E${Date.now()}`;
    body.entry[0]!.changes[0]!.value.messages[0]!.id = wamid;
    expect(await system.whatsapp(body)).toBe(200);
    await system.waitForEvents(
      (events) =>
        deliveredFor(
          events,
          repliesTo(events, wamid).map((e) => e.id),
        ).length === 1,
    );
    const sent = system.graph.messages.filter((m) => m.replyTo === wamid);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      phoneNumberId: ACME.phone,
      to: '16505551234',
      text: 'answer to: Hi, does the blue jacket come in size M?',
    });
  });
});

describe('rate limits', () => {
  it('the 31st message inside a minute is refused with one notice, and a second tenant is unaffected', async () => {
    const channel = 'C0RATELIM1';
    const stamps: string[] = [];
    const started = Date.now();
    for (let i = 0; i < 36; i++) {
      const ts = newTs();
      stamps.push(ts);
      await system.slackEvent(
        slackFixture('app_mention', (b) => {
          b.event = { ...b.event, ts, event_ts: ts, channel, text: `<@${ACME.bot}> question ${i}` };
        }),
      );
    }
    const globexTs = await globexMention('still there?', channel);
    const all = await system.waitForEvents(
      (events) =>
        stamps.every(
          (ts) =>
            events.some((e) => e.type === 'message.routed' && e.data.message.platformMessageId === ts) ||
            rejectedFor(events, ts).length,
        ) && repliesTo(events, globexTs).length === 1,
      60_000,
    );
    const elapsedSec = (Date.now() - started) / 1000;
    const rejected = stamps.flatMap((ts) => rejectedFor(all, ts));
    const routed = stamps.filter((ts) =>
      all.some((e) => e.type === 'message.routed' && e.data.message.platformMessageId === ts),
    );
    // a token bucket of 30 refilling at 30 per 60 s: the first 30 pass, then at most what refilled meanwhile
    expect(routed.length).toBeGreaterThanOrEqual(30);
    expect(routed.length).toBeLessThanOrEqual(30 + Math.ceil(elapsedSec / 2));
    expect(rejected.length).toBe(36 - routed.length);
    expect(new Set(rejected.map((e) => e.type === 'message.rejected' && e.data.reason))).toEqual(
      new Set(['rate_limited']),
    );
    expect(rejected.filter((e) => e.type === 'message.rejected' && e.data.notified)).toHaveLength(1);
    await expect
      .poll(() => system.slack.ephemerals.filter((e) => e.channel === channel).length, { timeout: 15_000 })
      .toBe(1);
    expect(repliesTo(all, globexTs)).toHaveLength(1);
  });
});

describe('projections', () => {
  const tables = ['conversations', 'messages', 'deliveries', 'delivery_receipts', 'llm_usage'];
  const snapshot = async () =>
    Object.fromEntries(
      await Promise.all(
        tables.map(async (t) => [t, await system.db.superSql(`select * from ${t} order by 1, 2`)] as const),
      ),
    );

  it('hold one row per message, and replaying the whole stream into empty projections reproduces the same rows', async () => {
    const all = await system.events();
    const received = all.filter((e) => e.type === 'message.received').length;
    // the live projections consumer has caught up when it has nothing pending
    await expect
      .poll(
        async () => {
          const info = await system.bus.jsm.consumers.info(system.bus.topology.streams.events, 'projections');
          return info.num_pending + info.num_ack_pending;
        },
        { timeout: 20_000 },
      )
      .toBe(0);
    expect(
      Number((await system.db.superSql(`select count(*) from messages where direction = 'in'`))[0]),
    ).toBe(received);
    const before = await snapshot();
    expect(before.messages!.length).toBeGreaterThan(received);
    for (const tenant of Object.values(system.tenants))
      await clearProjections(system.db.orm, tenant, PROJECTION_NAMES);
    expect(Number((await system.db.superSql('select count(*) from messages'))[0])).toBe(0);
    await projectEvents(system.db.orm, all);
    expect(await snapshot()).toEqual(before);
  });
});
