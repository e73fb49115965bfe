import { UnavailableError, ValidationError } from '@konstruct/core';
import { type FakeGraph, type FakeSlack, startFakeGraph, startFakeSlack } from '@konstruct/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlackClient, createWhatsAppClient, GraphApiError, SlackApiError } from '../src/index.ts';

const TOKEN = 'xoxb-test-token';
const ACCESS = 'EAAG-test-access-token';
let slack: FakeSlack;
let graph: FakeGraph;

beforeAll(async () => {
  slack = await startFakeSlack({ token: TOKEN });
  graph = await startFakeGraph({ accessToken: ACCESS });
});
afterAll(async () => {
  await slack?.close();
  await graph?.close();
});
beforeEach(() => {
  slack.failWith(undefined);
  graph.failWith(undefined);
});

const slackClient = (token = TOKEN) => createSlackClient({ baseUrl: slack.url, token, timeoutMs: 2_000 });
const waClient = (accessToken = ACCESS) =>
  createWhatsAppClient({
    baseUrl: graph.url,
    apiVersion: 'v23.0',
    accessToken,
    phoneNumberId: '106540352242922',
    timeoutMs: 2_000,
  });

describe('the Slack client', () => {
  it('posts in a thread with the bot token and replaces the message with chat.update', async () => {
    const client = slackClient();
    const posted = await client.postMessage({
      channel: 'C0GENERAL1',
      text: 'thinking…',
      thread_ts: '1764151200.000100',
    });
    await client.update({ channel: posted.channel, ts: posted.ts, markdown_text: '**Saturday** 9–17' });
    const message = slack.messages.find((m) => m.ts === posted.ts)!;
    expect(message).toMatchObject({
      channel: 'C0GENERAL1',
      thread_ts: '1764151200.000100',
      markdown_text: '**Saturday** 9–17',
      text: undefined,
      updates: 1,
    });
    expect(slack.calls.at(-1)).toMatchObject({ method: 'chat.update', authorization: `Bearer ${TOKEN}` });
  });

  it('keeps Slack’s error string when a call is refused for good', async () => {
    slack.failWith({ method: 'chat.postMessage', error: 'channel_not_found' });
    const error = await slackClient()
      .postMessage({ channel: 'C0GONE', text: 'hi' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(SlackApiError);
    expect(error).toMatchObject({
      error: 'channel_not_found',
      method: 'chat.postMessage',
      isAuthError: false,
    });
  });

  it('marks a revoked or wrong token as an auth error', async () => {
    const error = await slackClient('xoxb-wrong')
      .postMessage({ channel: 'C1', text: 'hi' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(SlackApiError);
    expect(error).toMatchObject({ error: 'invalid_auth', isAuthError: true });
  });

  it('turns HTTP 429 into a retryable error that carries Retry-After', async () => {
    slack.failWith({ status: 429, retryAfterSec: 3, times: 1 });
    const error = await slackClient()
      .postMessage({ channel: 'C1', text: 'hi' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.retryAfterMs).toBe(3_000);
    // the failure was one-off: the next call goes through
    await expect(slackClient().postMessage({ channel: 'C1', text: 'hi' })).resolves.toHaveProperty('ts');
  });

  it('treats 5xx, Slack’s transient errors and an unreachable server as retryable', async () => {
    slack.failWith({ status: 503, times: 1 });
    await expect(slackClient().postMessage({ channel: 'C1', text: 'x' })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    slack.failWith({ error: 'internal_error', times: 1 });
    await expect(slackClient().postMessage({ channel: 'C1', text: 'x' })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    const nowhere = createSlackClient({ baseUrl: 'http://127.0.0.1:9/api', token: TOKEN, timeoutMs: 1_000 });
    await expect(nowhere.postMessage({ channel: 'C1', text: 'x' })).rejects.toBeInstanceOf(UnavailableError);
  });

  it('posts an ephemeral message to one person', async () => {
    const { messageTs } = await slackClient().postEphemeral({
      channel: 'C0GENERAL1',
      user: 'U0HUMAN001',
      text: 'slow down',
    });
    expect(slack.ephemerals.at(-1)).toMatchObject({
      user: 'U0HUMAN001',
      text: 'slow down',
      message_ts: messageTs,
    });
  });

  it('refuses a message with both text and markdown_text before calling Slack', async () => {
    const before = slack.calls.length;
    await expect(
      slackClient().postMessage({ channel: 'C1', text: 'a', markdown_text: 'b' }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(slack.calls.length).toBe(before);
  });
});

describe('the WhatsApp client', () => {
  it('sends a contextual reply in the Cloud API shape and returns the wamid', async () => {
    const sent = await waClient().sendText({
      to: '16505551234',
      text: 'Yes, size M is in stock.',
      replyTo: 'wamid.IN1',
    });
    expect(sent.messageId).toMatch(/^wamid\./);
    expect(sent.waId).toBe('16505551234');
    const call = graph.calls.at(-1)!;
    expect(call).toMatchObject({
      version: 'v23.0',
      phoneNumberId: '106540352242922',
      authorization: `Bearer ${ACCESS}`,
    });
    expect(call.body).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '16505551234',
      type: 'text',
      text: { body: 'Yes, size M is in stock.', preview_url: false },
      context: { message_id: 'wamid.IN1' },
    });
  });

  it('maps an expired token to a permanent auth error keeping Graph’s code and trace id', async () => {
    const error = await waClient('EAAG-expired-token')
      .sendText({ to: '1650', text: 'hi' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(GraphApiError);
    expect(error).toMatchObject({ status: 401, graphCode: 190, type: 'OAuthException', isAuthError: true });
    expect(error.fbtraceId).toMatch(/^A/);
  });

  it('maps throughput and pair rate limits to retryable errors', async () => {
    graph.failWith({ code: 130429, status: 400, times: 1 });
    await expect(waClient().sendText({ to: '1650', text: 'hi' })).rejects.toBeInstanceOf(UnavailableError);
    graph.failWith({ code: 131056, status: 400, times: 1 });
    const pair = await waClient()
      .sendText({ to: '1650', text: 'hi' })
      .catch((e) => e);
    expect(pair).toBeInstanceOf(UnavailableError);
    expect(pair.retryAfterMs).toBe(6_000);
  });

  it('gives up on a customer outside the 24-hour window', async () => {
    graph.failWith({ code: 131047, status: 400, message: 'Re-engagement message' });
    const error = await waClient()
      .sendText({ to: '1650', text: 'hi' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(GraphApiError);
    expect(error.message).toContain('#131047');
  });

  it('refuses a body longer than WhatsApp accepts before sending', async () => {
    await expect(waClient().sendText({ to: '1650', text: 'x'.repeat(4097) })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
