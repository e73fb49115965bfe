import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import type { Publisher } from '@konstruct/bus';
import { createPipelinedPublisher } from '@konstruct/bus';
import { fixture, fixtureText, slackSignatureHeaders, whatsappSignatureHeaders } from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshEventId, freshTs, type Harness, SECRETS, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Sends a request, expects a problem with `status`, and that nothing was stored. */
async function refused(status: number, send: () => Promise<Response>) {
  const mark = await h.mark();
  const res = await send();
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const problem = (await res.json()) as Record<string, unknown>;
  expect(problem).toMatchObject({ status, type: expect.stringMatching(/^urn:konstruct:problem:/) });
  expect(typeof problem.title).toBe('string');
  expect(typeof problem.detail).toBe('string');
  expect(await h.storedSince(mark)).toEqual([]);
  return problem;
}

async function requestCount(route: string, outcome: string): Promise<number> {
  const metric = await h.gateway.metrics.requests.get();
  return metric.values.find((v) => v.labels.route === route && v.labels.outcome === outcome)?.value ?? 0;
}

const slackBody = () => {
  const body = fixture('slack/app_mention.json') as { event: Record<string, unknown>; event_id: string };
  body.event_id = freshEventId();
  body.event.ts = freshTs();
  return JSON.stringify(body);
};

describe('401: the sender is not proven', () => {
  it('Slack: missing signature headers', async () => {
    await refused(401, () => h.post('/slack/events', slackBody(), { 'content-type': 'application/json' }));
  });

  it('Slack: a signature made with another secret', async () => {
    await refused(401, () => h.slack(slackBody(), { secret: 'not-the-secret' }));
  });

  it('Slack: a signature over a different body (one byte changed)', async () => {
    const body = slackBody();
    const headers = slackSignatureHeaders(SECRETS.slack, body);
    await refused(401, () => h.post('/slack/events', body.replace('standup', 'standuP'), headers));
  });

  it('Slack: a correct signature with a timestamp older than five minutes (a replay)', async () => {
    await refused(401, () => h.slack(slackBody(), { timestampSec: Math.floor(Date.now() / 1000) - 301 }));
  });

  it('Slack: malformed JSON with a bad signature is 401, not 400: nothing is told to an unproven sender', async () => {
    await refused(401, () => h.slack('{"type": "event_callback",', { secret: 'wrong' }));
  });

  it('WhatsApp: missing and wrong X-Hub-Signature-256', async () => {
    const body = fixtureText('whatsapp/text.json');
    await refused(401, () => h.post('/whatsapp/webhook', body, { 'content-type': 'application/json' }));
    await refused(401, () => h.whatsapp(body, { secret: 'not-the-app-secret' }));
  });

  it('is counted in metrics by route and outcome', async () => {
    const before = await requestCount('/slack/events', 'unauthorized');
    await h.slack(slackBody(), { secret: 'nope' });
    expect(await requestCount('/slack/events', 'unauthorized')).toBe(before + 1);
  });
});

describe('400: malformed JSON or a payload that fails the schema (signed correctly)', () => {
  it('Slack: malformed JSON', async () => {
    const problem = await refused(400, () => h.slack('{"type": "event_callback",'));
    expect(problem.detail).toMatch(/not JSON/);
  });

  it('Slack: an event_callback without event_id', async () => {
    const body = fixture('slack/app_mention.json') as Record<string, unknown>;
    delete body.event_id;
    await refused(400, () => h.slack(JSON.stringify(body)));
  });

  it('Slack: a message event without ts', async () => {
    const body = fixture('slack/message_im.json') as { event: Record<string, unknown>; event_id: string };
    body.event_id = freshEventId();
    delete body.event.ts;
    await refused(400, () => h.slack(JSON.stringify(body)));
  });

  it('WhatsApp: malformed JSON, and a messages change without metadata', async () => {
    await refused(400, () => h.whatsapp('[1, 2'));
    const body = fixture('whatsapp/text.json') as {
      entry: { changes: { value: Record<string, unknown> }[] }[];
    };
    delete body.entry[0]!.changes[0]!.value.metadata;
    await refused(400, () => h.whatsapp(JSON.stringify(body)));
  });

  it('WhatsApp: one bad message in a webhook publishes none of its good ones', async () => {
    const body = fixture('whatsapp/text.json') as {
      entry: { changes: { value: { messages: Record<string, unknown>[] } }[] }[];
    };
    const messages = body.entry[0]!.changes[0]!.value.messages;
    messages[0]!.id = `wamid.${randomUUID()}`;
    messages.push({ ...messages[0], id: `wamid.${randomUUID()}`, timestamp: 'yesterday' });
    await refused(400, () => h.whatsapp(JSON.stringify(body)));
  });

  it('is counted in metrics', async () => {
    const before = await requestCount('/whatsapp/webhook', 'invalid');
    await h.whatsapp('nope');
    expect(await requestCount('/whatsapp/webhook', 'invalid')).toBe(before + 1);
  });
});

describe('413: a body over the limit (64 KiB here)', () => {
  it('is refused from Content-Length alone, before the body is sent', async () => {
    const answer = await rawRequest(
      [
        'POST /slack/events HTTP/1.1',
        'Host: 127.0.0.1',
        'Content-Type: application/json',
        `Content-Length: ${50 * 1024 * 1024}`,
        '',
        '{"type":',
      ].join('\r\n'),
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(answer).toContain('application/problem+json');
  });

  it('a chunked body is refused once it passes the limit, without reading the rest', async () => {
    const chunk = 'x'.repeat(70 * 1024);
    const answer = await rawRequest(
      [
        'POST /whatsapp/webhook HTTP/1.1',
        'Host: 127.0.0.1',
        'Content-Type: application/json',
        'Transfer-Encoding: chunked',
        '',
        `${chunk.length.toString(16)}\r\n${chunk}\r\n`,
      ].join('\r\n'),
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
  });

  it('through fetch: problem body, nothing stored, counted', async () => {
    const before = await requestCount('/slack/events', 'too_large');
    const big = JSON.stringify({ type: 'event_callback', pad: 'x'.repeat(70 * 1024) });
    await refused(413, () => h.slack(big));
    expect(await requestCount('/slack/events', 'too_large')).toBe(before + 1);
  });
});

describe('415 and 404', () => {
  it('415 for a body that is not application/json', async () => {
    const body = slackBody();
    await refused(415, () =>
      h.post('/slack/events', body, {
        ...slackSignatureHeaders(SECRETS.slack, body),
        'content-type': 'text/plain',
      }),
    );
    const wa = fixtureText('whatsapp/text.json');
    await refused(415, () =>
      h.post('/whatsapp/webhook', wa, {
        ...whatsappSignatureHeaders(SECRETS.whatsapp, wa),
        'content-type': 'application/x-www-form-urlencoded',
      }),
    );
    expect(await requestCount('/slack/events', 'unsupported_media_type')).toBeGreaterThan(0);
  });

  it('404 for an unknown route, and for a known path with another method', async () => {
    await refused(404, () => h.post('/slack/commands', '{}', { 'content-type': 'application/json' }));
    const res = await fetch(`${h.url}/slack/events`);
    expect(res.status).toBe(404);
    expect(await requestCount('unknown', 'not_found')).toBe(1);
  });
});

describe('never 200 for an event JetStream did not store', () => {
  it('answers 503 with Retry-After when no stream stores the subject', async () => {
    const nowhere = await startHarness({
      publisher: (_real, bus): Publisher =>
        createPipelinedPublisher(bus.nc, { ...bus.topology, prefix: 'nowhere.' }, { timeoutMs: 300 }),
      env: { NATS_PUBLISH_TIMEOUT: '300ms' },
    });
    try {
      const res = await nowhere.slack(slackBody());
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toMatchObject({ status: 503, type: 'urn:konstruct:problem:unavailable' });
    } finally {
      await nowhere.close();
    }
  });
});

describe('health', () => {
  it('/healthz is up, /readyz checks NATS and both streams, /metrics speaks Prometheus', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { nats: true, [`stream:${h.bus.topology.streams.events}`]: true },
    });
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toContain('gateway_requests_total{route="/slack/events",outcome="unauthorized"}');
    expect(metrics).toContain('# TYPE gateway_publish_duration_seconds histogram');
  });
});

/** Writes raw HTTP to the gateway and returns whatever it answers before closing (or after 2 s). */
function rawRequest(text: string): Promise<string> {
  const { port } = new URL(h.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(answer);
    }, 2_000);
    socket.on('data', (d) => {
      answer += d.toString('utf8');
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (answer) resolve(answer);
      else reject(error);
    });
    socket.write(text);
  });
}
