import { FIXTURE_IDS, fixture, fixtureText, slackSignatureHeaders } from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freshEventId,
  freshTs,
  GRID_ENTERPRISE,
  type Harness,
  OWN_APP_TEAM,
  SECRETS,
  startHarness,
} from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const receivedSubject = () => `${h.bus.topology.prefix}tenant.${h.tenantId}.message.received.slack`;

/** Sends a fixture signed as Slack signs it and returns the answer and what it stored. */
async function send(body: string, options: Parameters<Harness['slack']>[1] = {}) {
  const mark = await h.mark();
  const res = await h.slack(body, options);
  return { res, text: await res.text(), stored: await h.storedSince(mark) };
}

describe('Slack fixtures, signed as Slack signs them', () => {
  it('url_verification: echoes the challenge and stores nothing', async () => {
    const { res, text, stored } = await send(fixtureText('slack/url_verification.json'));
    expect(res.status).toBe(200);
    expect(JSON.parse(text)).toEqual({ challenge: fixture('slack/url_verification.json').challenge });
    expect(stored).toEqual([]);
  });

  it('app_mention: one message.received for the tenant, mention stripped, thread under ts', async () => {
    const { res, stored } = await send(fixtureText('slack/app_mention.json'));
    expect(res.status).toBe(200);
    expect(stored).toHaveLength(1);
    const [{ subject, msgId, event }] = stored as [(typeof stored)[0]];
    expect(subject).toBe(receivedSubject());
    const id = `slack:${FIXTURE_IDS.slackTeam}:${FIXTURE_IDS.slackChannel}:1764151200.000100`;
    expect(msgId).toBe(id);
    expect(event).toMatchObject({
      type: 'message.received',
      id,
      tenantid: h.tenantId,
      correlationid: id,
      causationid: id,
      source: '/konstruct/gateway',
    });
    if (event.type !== 'message.received') throw new Error('wrong type');
    expect(event.data.message).toMatchObject({
      tenantId: h.tenantId,
      channel: 'slack',
      workspaceId: FIXTURE_IDS.slackTeam,
      channelId: FIXTURE_IDS.slackChannel,
      threadId: '1764151200.000100',
      platformMessageId: '1764151200.000100',
      sender: { id: 'U0HUMAN001', isBot: false },
      content: { text: "can you summarise yesterday's standup?", attachments: [] },
      sentAt: '2025-11-26T10:00:00.000Z',
      addressing: { direct: false, mentioned: true, inThread: false },
    });
  });

  it('message_in_thread: stored as a thread reply under the thread root', async () => {
    const { res, stored } = await send(fixtureText('slack/message_in_thread.json'));
    expect(res.status).toBe(200);
    expect(stored).toHaveLength(1);
    const event = stored[0]!.event;
    if (event.type !== 'message.received') throw new Error('wrong type');
    expect(event.data.message).toMatchObject({
      threadId: '1764151200.000100',
      platformMessageId: '1764151260.000200',
      content: { text: 'and please list the open action items too' },
      addressing: { direct: false, mentioned: false, inThread: true },
    });
  });

  it('message_im: stored as a direct message', async () => {
    const { stored } = await send(fixtureText('slack/message_im.json'));
    expect(stored).toHaveLength(1);
    const event = stored[0]!.event;
    if (event.type !== 'message.received') throw new Error('wrong type');
    expect(event.data.message).toMatchObject({
      channelId: 'D0DMHUMAN2',
      addressing: { direct: true, mentioned: false, inThread: false },
      platform: { channelType: 'im' },
    });
  });

  it('the webhook path with a trailing slash or a query string is served the same, and counted under its route', async () => {
    const counted = async () =>
      (await h.gateway.metrics.requests.get()).values.find(
        (v) => v.labels.route === '/slack/events' && v.labels.outcome === 'stored',
      )?.value ?? 0;
    const before = await counted();
    for (const path of ['/slack/events/', '/slack/events?source=test']) {
      const body = fixture('slack/message_im.json') as { event: Record<string, unknown>; event_id: string };
      body.event_id = freshEventId();
      body.event.ts = freshTs();
      const text = JSON.stringify(body);
      const mark = await h.mark();
      const res = await h.post(path, text, slackSignatureHeaders(SECRETS.slack, text));
      expect(res.status).toBe(200);
      expect(await h.storedSince(mark)).toHaveLength(1);
    }
    expect(await counted()).toBe(before + 2);
  });

  it('message_channel_no_mention: stored unaddressed, for the router to decide (no engaged thread → no reply)', async () => {
    const { stored } = await send(fixtureText('slack/message_channel_no_mention.json'));
    expect(stored).toHaveLength(1);
    const event = stored[0]!.event;
    if (event.type !== 'message.received') throw new Error('wrong type');
    expect(event.data.message.addressing).toEqual({ direct: false, mentioned: false, inThread: false });
  });

  it.each([
    ['bot_message', "another bot's message"],
    ['own_reply_echo', "the agent's own message echoed back"],
    ['message_changed', 'an edit of an earlier message'],
  ])('%s: 200, nothing stored, a debug line saying why', async (name, reason) => {
    const { res, stored } = await send(fixtureText(`slack/${name}.json`));
    expect(res.status).toBe(200);
    expect(stored).toEqual([]);
    expect(h.logs.some((l) => l.level === 20 && l.reason === reason)).toBe(true);
  });

  it('file_share: the PDF is carried as a document attachment', async () => {
    const { stored } = await send(fixtureText('slack/file_share.json'));
    expect(stored).toHaveLength(1);
    const event = stored[0]!.event;
    if (event.type !== 'message.received') throw new Error('wrong type');
    expect(event.data.message.content).toEqual({
      text: 'what does this invoice say about the due date?',
      attachments: [
        {
          kind: 'document',
          mediaId: 'F0INVOICE01',
          mimeType: 'application/pdf',
          name: 'invoice-2026-11.pdf',
          url: 'https://files.slack.com/files-pri/T0ACME0001-F0INVOICE01/invoice-2026-11.pdf',
          sizeBytes: 48213,
        },
      ],
    });
    expect(event.data.message.addressing.mentioned).toBe(true);
  });
});

describe('stored once', () => {
  it('the same event delivered three times (original and two retries) is stored once, each answered 200', async () => {
    const body = fixture('slack/message_im.json') as { event: Record<string, unknown>; event_id: string };
    body.event_id = freshEventId();
    body.event.ts = freshTs();
    const text = JSON.stringify(body);
    const mark = await h.mark();
    const answers = [
      await h.slack(text),
      await h.slack(text, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } }),
      await h.slack(text, { headers: { 'x-slack-retry-num': '2', 'x-slack-retry-reason': 'http_timeout' } }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(await h.storedSince(mark)).toHaveLength(1);
  });

  it('a channel post that mentions the agent arrives as app_mention and as message: stored once', async () => {
    const ts = freshTs();
    const mention = fixture('slack/app_mention.json') as { event: Record<string, unknown>; event_id: string };
    mention.event_id = freshEventId();
    mention.event.ts = ts;
    mention.event.event_ts = ts;
    const message = fixture('slack/message_channel_no_mention.json') as {
      event: Record<string, unknown>;
      event_id: string;
    };
    message.event_id = freshEventId();
    message.event.ts = ts;
    message.event.text = mention.event.text;
    message.event.user = mention.event.user;
    const mark = await h.mark();
    expect((await h.slack(JSON.stringify(message))).status).toBe(200);
    expect((await h.slack(JSON.stringify(mention))).status).toBe(200);
    const stored = await h.storedSince(mark);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.msgId).toBe(`slack:${FIXTURE_IDS.slackTeam}:${FIXTURE_IDS.slackChannel}:${ts}`);
  });
});

describe('tenant resolution', () => {
  it('an unknown workspace gets 200 and an ops.ingress.unrouted event with the reason', async () => {
    const body = fixture('slack/app_mention.json') as Record<string, unknown>;
    body.team_id = 'T0NOBODY99';
    body.context_team_id = 'T0NOBODY99';
    body.authorizations = [{ team_id: 'T0NOBODY99', enterprise_id: null, is_bot: true }];
    body.event_id = freshEventId();
    const { res, stored } = await send(JSON.stringify(body));
    expect(res.status).toBe(200);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.subject).toBe(`${h.bus.topology.prefix}ops.ingress.unrouted`);
    expect(stored[0]!.event).toMatchObject({
      type: 'ingress.unrouted',
      data: {
        channel: 'slack',
        workspaceId: 'T0NOBODY99',
        platformEventId: `slack:T0NOBODY99:${body.event_id}`,
        reason: 'no tenant has connected Slack workspace T0NOBODY99',
      },
    });
  });

  it('a workspace with its own Slack app is verified with its own signing secret, not the app-level one', async () => {
    const body = fixture('slack/message_im.json') as Record<string, unknown>;
    body.team_id = OWN_APP_TEAM;
    body.authorizations = [{ team_id: OWN_APP_TEAM, enterprise_id: null, is_bot: true }];
    body.event_id = freshEventId();
    const text = JSON.stringify(body);
    const refused = await send(text, { secret: SECRETS.slack });
    expect(refused.res.status).toBe(401);
    expect(refused.stored).toEqual([]);
    const accepted = await send(text, { secret: SECRETS.ownSlack });
    expect(accepted.res.status).toBe(200);
    expect(accepted.stored.map((s) => s.subject)).toEqual([
      `${h.bus.topology.prefix}tenant.${h.ownAppTenantId}.message.received.slack`,
    ]);
  });

  it('a workspace with its own Slack app passes url_verification at /slack/events?workspace=<team>, and only there', async () => {
    const text = fixtureText('slack/url_verification.json');
    const withoutHint = await h.post('/slack/events', text, slackSignatureHeaders(SECRETS.ownSlack, text));
    expect(withoutHint.status).toBe(401);
    const hinted = await h.post(
      `/slack/events?workspace=${OWN_APP_TEAM}`,
      text,
      slackSignatureHeaders(SECRETS.ownSlack, text),
    );
    expect(hinted.status).toBe(200);
    expect(await hinted.json()).toEqual({ challenge: fixture('slack/url_verification.json').challenge });
    // the hint only picks whose secret to check: the app-level secret's signature is no good there
    const wrong = await h.post(
      `/slack/events?workspace=${OWN_APP_TEAM}`,
      text,
      slackSignatureHeaders(SECRETS.slack, text),
    );
    expect(wrong.status).toBe(401);
  });

  it("the workspace hint never moves an event to another tenant: the payload's team decides", async () => {
    // the app-level workspace's event, posted to the own-app tenant's Request URL: still Acme's, under the app secret
    const { res, stored } = await (async () => {
      const body = fixture('slack/message_im.json') as { event: Record<string, unknown>; event_id: string };
      body.event_id = freshEventId();
      body.event.ts = freshTs();
      const text = JSON.stringify(body);
      const mark = await h.mark();
      const res = await h.post(
        `/slack/events?workspace=${OWN_APP_TEAM}`,
        text,
        slackSignatureHeaders(SECRETS.slack, text),
      );
      return { res, stored: await h.storedSince(mark) };
    })();
    expect(res.status).toBe(200);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.event.tenantid).toBe(h.tenantId);
  });

  it('an Enterprise Grid org-wide install (authorizations team null) resolves by the enterprise id', async () => {
    const body = fixture('slack/message_im.json') as Record<string, unknown>;
    body.team_id = 'T0GRIDWS01';
    body.enterprise_id = GRID_ENTERPRISE;
    body.authorizations = [
      { team_id: null, enterprise_id: GRID_ENTERPRISE, is_bot: true, is_enterprise_install: true },
    ];
    body.event_id = freshEventId();
    const { res, stored } = await send(JSON.stringify(body));
    expect(res.status).toBe(200);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.event.tenantid).toBe(h.gridTenantId);
    if (stored[0]!.event.type !== 'message.received') throw new Error('wrong type');
    expect(stored[0]!.event.data.message.workspaceId).toBe(GRID_ENTERPRISE);
  });

  it('a shared channel delivery is attributed to the installation in authorizations, not the sender team', async () => {
    const body = fixture('slack/message_in_thread.json') as Record<string, unknown>;
    // a Slack Connect channel: the post comes from another org's workspace
    body.team_id = 'T0PARTNER01';
    body.context_team_id = 'T0PARTNER01';
    body.is_ext_shared_channel = true;
    body.event_id = freshEventId();
    (body.event as Record<string, unknown>).ts = freshTs();
    const { res, stored } = await send(JSON.stringify(body));
    expect(res.status).toBe(200);
    expect(stored.map((s) => s.event.tenantid)).toEqual([h.tenantId]);
  });
});

describe('production mode', () => {
  it('without the per-event schema check, what is stored still parses as a valid event', async () => {
    const prod = await startHarness({ env: { NODE_ENV: 'production' } });
    try {
      const mark = await prod.mark();
      expect((await prod.slack(fixtureText('slack/file_share.json'))).status).toBe(200);
      expect((await prod.whatsapp(fixtureText('whatsapp/statuses.json'))).status).toBe(200);
      // storedSince reads every message back through parseEvent, which throws on anything invalid
      const stored = await prod.storedSince(mark);
      expect(stored.map((s) => s.event.type).sort()).toEqual(['delivery.status', 'message.received']);
    } finally {
      await prod.close();
    }
  });
});
