import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { sleep } from '@konstruct/core';
import {
  createFixtureSlackTenant,
  createTestBus,
  createTestDatabase,
  fixture,
  type Stack,
  slackSignatureHeaders,
  startStack,
  type TestBus,
  type TestDatabase,
} from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshEventId, freshTs } from './harness.ts';

// The gateway as production runs it with GATEWAY_WORKERS=2: its real composition root in a child process.
const SECRET = 'workers-test-signing-secret';
let db: TestDatabase;
let bus: TestBus;
let stack: Stack;
let port: number;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One signed Slack message on a connection of its own, so the primary hands it to either worker. */
function post(): Promise<number> {
  const body = fixture('slack/message_im.json') as { event: Record<string, unknown>; event_id: string };
  body.event_id = freshEventId();
  body.event.ts = freshTs();
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/slack/events',
        method: 'POST',
        agent: false,
        headers: slackSignatureHeaders(SECRET, text),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const listeningPids = () =>
  (stack.processes.get('gateway')?.lines ?? [])
    .filter((l) => l.msg === 'gateway listening')
    .map((l) => Number(l.pid));

async function storedCount(): Promise<number> {
  return (await bus.jsm.streams.info(bus.topology.streams.events)).state.messages;
}

async function metricsText(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

beforeAll(async () => {
  [db, bus] = await Promise.all([createTestDatabase(), createTestBus()]);
  const key = randomBytes(32);
  await createFixtureSlackTenant(db.orm, key, { name: 'Workers', slugPrefix: 'workers' });
  port = await freePort();
  stack = startStack({
    services: ['gateway'],
    env: {
      LOG_LEVEL: 'info',
      GATEWAY_WORKERS: '2',
      GATEWAY_PORT: String(port),
      GATEWAY_HOST: '127.0.0.1',
      SLACK_SIGNING_SECRET: SECRET,
      WHATSAPP_APP_SECRET: 'workers-whatsapp-secret',
      WHATSAPP_VERIFY_TOKEN: 'workers-verify-token',
      NATS_URL: bus.natsUrl,
      NATS_SUBJECT_PREFIX: bus.topology.prefix,
      NATS_STREAM: bus.topology.streams.events,
      NATS_OPS_STREAM: bus.topology.streams.ops,
      DATABASE_URL: db.appUrl,
      CREDENTIALS_KEY: key.toString('base64'),
    },
  });
  await stack.waitForLog('gateway', () => listeningPids().length >= 2);
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([bus?.close(), db?.drop()]);
});

describe('GATEWAY_WORKERS=2', () => {
  it('two processes serve one port; every webhook is stored once and /metrics counts all of them', async () => {
    expect(new Set(listeningPids()).size).toBe(2);
    const before = await storedCount();
    const statuses = await Promise.all(Array.from({ length: 40 }, post));
    expect(statuses).toEqual(Array(40).fill(200));
    expect((await storedCount()) - before).toBe(40);
    // summed over both workers, whichever one the scrape landed on
    for (let i = 0; i < 3; i++) {
      expect(await metricsText()).toMatch(
        /gateway_requests_total\{route="\/slack\/events",outcome="stored"\} 40\b/,
      );
    }
  });

  it('a worker that dies is replaced, and the gateway keeps answering', async () => {
    const [victim] = listeningPids();
    process.kill(victim!, 'SIGKILL');
    await stack.waitForLog('gateway', (l) => l.msg === 'a gateway worker died; starting another');
    await stack.waitForLog('gateway', () => new Set(listeningPids()).size >= 3);
    const statuses = await Promise.all(Array.from({ length: 10 }, post));
    expect(statuses).toEqual(Array(10).fill(200));
  });

  it('SIGTERM drains every worker and the gateway exits 0', async () => {
    const gateway = stack.processes.get('gateway')!;
    gateway.child.kill('SIGTERM');
    expect(await Promise.race([gateway.exited, sleep(15_000).then(() => 'still running')])).toBe(0);
    expect(gateway.lines.filter((l) => l.msg === 'gateway stopped').length).toBeGreaterThanOrEqual(2);
  });
});
