// Fallbacks and crashes, end to end: every service its own process, the orchestrator killed for real.
import type { KonstructEvent } from '@konstruct/contracts';
import {
  ACME,
  type FakeOllama,
  newTs,
  type System,
  slackFixture,
  startFakeOllama,
  startSystem,
} from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let system: System;
let flaky: FakeOllama;

beforeAll(async () => {
  flaky = await startFakeOllama({ reply: () => 'flaky answered' });
  system = await startSystem({
    reply: (req) => `steady answer to: ${req.messages.at(-1)?.content}`,
    llmGroups: (steadyUrl) =>
      JSON.stringify({
        providers: {
          flaky: { kind: 'ollama', baseUrl: flaky.url, timeout: '1500ms' },
          steady: { kind: 'ollama', baseUrl: steadyUrl, timeout: '20s' },
        },
        groups: {
          fast: [
            { provider: 'flaky', model: 'llama3.2:3b' },
            { provider: 'steady', model: 'llama3.2:3b' },
          ],
        },
      }),
    // one failure is not enough to cool the flaky provider down, so each test sees it tried first
    extraEnv: { LLM_FAILURES_BEFORE_COOLDOWN: '100' },
  });
}, 120_000);
afterAll(async () => {
  await system?.close();
  await flaky?.close();
});

const reply = (events: KonstructEvent[], ts: string) =>
  events.find((e) => e.type === 'agent.replied' && e.data.message.platformMessageId === ts);

async function mention(text: string): Promise<string> {
  const ts = newTs();
  expect(
    await system.slackEvent(
      slackFixture('app_mention', (b) => {
        b.event = { ...b.event, ts, event_ts: ts, text: `<@${ACME.bot}> ${text}` };
      }),
    ),
  ).toBe(200);
  return ts;
}

describe('fallback between providers', () => {
  it('answers from the first provider of the group while it is healthy', async () => {
    flaky.configure({ fail: false, hang: false });
    const ts = await mention('first choice?');
    const events = await system.waitForEvents((all) => reply(all, ts) !== undefined);
    expect(reply(events, ts)).toMatchObject({
      data: { kind: 'answer', provider: 'flaky', reply: { text: 'flaky answered' } },
    });
  });

  it('when the first provider fails, the answer comes from the next, and the event says which', async () => {
    flaky.configure({ fail: 500, hang: false });
    const ts = await mention('are you failing over?');
    const events = await system.waitForEvents((all) => reply(all, ts) !== undefined);
    expect(reply(events, ts)).toMatchObject({
      data: {
        kind: 'answer',
        provider: 'steady',
        model: 'llama3.2:3b',
        reply: { text: 'steady answer to: are you failing over?' },
      },
    });
  });

  it('when the first provider times out, the answer comes from the next', async () => {
    flaky.configure({ fail: false, hang: true });
    const ts = await mention('and when it hangs?');
    const events = await system.waitForEvents((all) => reply(all, ts) !== undefined);
    expect(reply(events, ts)).toMatchObject({ data: { kind: 'answer', provider: 'steady' } });
    flaky.configure({ hang: false });
  });
});

describe('a crash in the middle', () => {
  it('killing the orchestrator while the model thinks and starting it again yields exactly one reply', async () => {
    flaky.configure({ fail: 503, hang: false });
    system.ollama.configure({ delayMs: 3_000 });
    const asked = system.ollama.requests.length;
    const ts = await mention('survive a crash, please');
    // the orchestrator has posted the placeholder and is waiting for the model
    await expect.poll(() => system.ollama.requests.length, { timeout: 20_000 }).toBeGreaterThan(asked);
    await system.stack.kill('orchestrator', 'SIGKILL');
    system.ollama.configure({ delayMs: 0 });
    await system.restart('orchestrator');
    const events = await system.waitForEvents(
      (all) => all.some((e) => e.type === 'delivery.succeeded' && e.data.replyEventId === reply(all, ts)?.id),
      90_000,
    );
    expect(
      events.filter((e) => e.type === 'agent.replied' && e.data.message.platformMessageId === ts),
    ).toHaveLength(1);
    const inThread = system.slack.messages.filter((m) => m.thread_ts === ts);
    expect(inThread).toHaveLength(1);
    expect(inThread[0]!.markdown_text ?? inThread[0]!.text).toBe('steady answer to: survive a crash, please');
    expect(
      system.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.thread_ts === ts),
    ).toHaveLength(1);
    await expect
      .poll(
        async () =>
          system.db.superSql(
            `select direction, count(*) from messages where conversation_id like '%${ts}' group by 1 order by 1`,
          ),
        { timeout: 20_000 },
      )
      .toEqual(['in\t1', 'out\t1']);
  }, 150_000);
});
