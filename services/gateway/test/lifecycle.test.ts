import type { Publisher } from '@konstruct/bus';
import { sleep } from '@konstruct/core';
import { fixture } from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshEventId, freshTs, type Harness, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  // JetStream answers after 400 ms, so a request is surely in flight when the gateway is told to stop
  h = await startHarness({
    publisher: (real): Publisher => ({
      ...real,
      async publish(event, options) {
        await sleep(400);
        return real.publish(event, options);
      },
    }),
  });
});
afterAll(async () => {
  await h?.close();
});

describe('graceful shutdown', () => {
  it('finishes an in-flight request (stored, then 200) before it stops, and takes no new ones', async () => {
    const body = fixture('slack/message_im.json') as { event: Record<string, unknown>; event_id: string };
    body.event_id = freshEventId();
    body.event.ts = freshTs();
    const mark = await h.mark();
    const inFlight = h.slack(JSON.stringify(body));
    await sleep(150);
    const stopped = h.gateway.stop(5_000);
    const res = await inFlight;
    expect(res.status).toBe(200);
    await stopped;
    expect(h.gateway.server.listening).toBe(false);
    expect(await h.storedSince(mark)).toHaveLength(1);
    await expect(fetch(`${h.url}/healthz`)).rejects.toThrow();
  });
});
