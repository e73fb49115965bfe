import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublisher, ensureStreams } from '@konstruct/bus';
import type { KonstructEvent } from '@konstruct/contracts';
import { manualClock } from '@konstruct/core';
import { topology } from '@konstruct/names';
import { createTestDatabase, type TestDatabase } from '@konstruct/testkit';
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationBlock } from '../src/ops/analyst.ts';
import { cliEnv, createTenant, konstruct } from './helpers.ts';
import { journey } from './journeys.ts';

const ADMIN = { user: 'admin', pass: randomUUID() };
const STREAM = 'KONSTRUCT';
const topo = topology();
let db: TestDatabase;
let dir: string;
let server: ChildProcess;
let url: string;
let admin: NatsConnection;
let env: Record<string, string>;
let acme: string;
let globex: string;
const acmeEvents: KonstructEvent[] = [];
const clock = manualClock(Date.parse('2026-11-20T09:00:00Z'));

interface Grant {
  user: string;
  consumer: string;
  inboxPrefix: string;
  subjects: string;
  configEntry: string;
  auth: { kind: 'nkey'; seed: string };
}
let grantA: Grant;
let grantB: Grant;

let port = 0;

/** Starts nats-server as an operator would, with JetStream on file storage and the config file. */
function startServer(config: string): ChildProcess {
  return spawn(
    '/usr/sbin/nats-server',
    ['-js', '-p', String(port), '-sd', join(dir, 'store'), '-c', config],
    {
      stdio: 'ignore',
    },
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function connectWithRetry(options: Parameters<typeof connect>[0]): Promise<NatsConnection> {
  const deadline = Date.now() + 10_000;
  while (true) {
    try {
      return await connect(options);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function analyst(grant: Grant): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const nc = await connect({
    servers: url,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(grant.auth.seed)),
    inboxPrefix: grant.inboxPrefix,
  });
  return { nc, jsm: await jetstreamManager(nc, { timeout: 2_000 }) };
}

beforeAll(async () => {
  db = await createTestDatabase();
  env = { ...cliEnv(db) };
  acme = await createTenant(env, 'acme');
  globex = await createTenant(env, 'globex');
  dir = await mkdtemp(join(tmpdir(), 'konstruct-analyst-'));
  const seedFile = join(dir, 'acme.nk');
  const a = await konstruct(env, [
    'analyst',
    'grant',
    '--tenant',
    'acme',
    '--self-service',
    '--json',
    '--out',
    seedFile,
  ]);
  const b = await konstruct(env, ['analyst', 'grant', '--tenant', 'globex', '--self-service', '--json']);
  grantA = JSON.parse(a.out[0]!);
  grantB = JSON.parse(b.out[0]!);
  expect((await readFile(seedFile, 'utf8')).trim()).toBe(grantA.auth.seed);

  // the server config an operator would load: an admin for the services, plus the generated users
  const adminEntry = `{ user: ${JSON.stringify(ADMIN.user)}, password: ${JSON.stringify(ADMIN.pass)} }`;
  const config = join(dir, 'server.conf');
  await writeFile(config, authorizationBlock([adminEntry, grantA.configEntry, grantB.configEntry]));
  port = await freePort();
  url = `nats://127.0.0.1:${port}`;
  server = startServer(config);
  admin = await connectWithRetry({ servers: url, user: ADMIN.user, pass: ADMIN.pass });
  const adminJsm = await jetstreamManager(admin);
  await ensureStreams(adminJsm, topo, { duplicateWindowMs: 60_000 });
  const publisher = createPublisher(jetstream(admin), topo);
  for (let n = 0; n < 4; n++) {
    for (const tenantId of [acme, globex]) {
      for (const event of journey({
        tenantId,
        agentId: randomUUID(),
        connectionId: randomUUID(),
        clock,
        n,
      })) {
        await publisher.publish(event);
        if (tenantId === acme) acmeEvents.push(event);
      }
    }
  }
}, 60_000);
afterAll(async () => {
  await admin?.close();
  if (server && server.exitCode === null) {
    // the store is removed only once the server has stopped writing to it
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    const killer = setTimeout(() => server?.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
  await db?.drop();
});

async function messagesInStream(): Promise<number> {
  return (await (await jetstreamManager(admin)).streams.info(STREAM)).state.messages;
}

describe('konstruct analyst grant, against a nats-server loaded with its config', () => {
  it('lets tenant A’s analyst subscribe to A’s events live', async () => {
    const { nc } = await analyst(grantA);
    try {
      const sub = nc.subscribe(`tenant.${acme}.>`, { max: 1 });
      await nc.flush();
      const [event] = journey({
        tenantId: acme,
        agentId: randomUUID(),
        connectionId: randomUUID(),
        clock,
        n: 50,
      });
      await createPublisher(jetstream(admin), topo).publish(event!);
      acmeEvents.push(event!);
      for await (const msg of sub) expect(msg.json<KonstructEvent>().id).toBe(event!.id);
    } finally {
      await nc.close();
    }
  });

  it('lets A’s analyst replay A’s history through their own consumer, and start over by deleting it', async () => {
    const { nc, jsm } = await analyst(grantA);
    try {
      await jsm.consumers.add(STREAM, {
        durable_name: grantA.consumer,
        filter_subject: grantA.subjects,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
      });
      const consumer = await jetstream(nc).consumers.get(STREAM, grantA.consumer);
      const ids: string[] = [];
      const batch = await consumer.fetch({ max_messages: 100, expires: 2_000 });
      for await (const msg of batch) {
        ids.push(msg.json<KonstructEvent>().id);
        // acknowledged and confirmed: acks on its own consumer are the analyst's to send
        expect(await msg.ackAck()).toBe(true);
        if (msg.info.pending === 0) break;
      }
      expect(ids).toEqual(acmeEvents.map((e) => e.id));
      expect((await consumer.info()).num_ack_pending).toBe(0);
      await jsm.consumers.delete(STREAM, grantA.consumer);
    } finally {
      await nc.close();
    }
  });

  it('refuses A’s analyst B’s subjects, live and through a consumer', async () => {
    const { nc, jsm } = await analyst(grantA);
    try {
      const sub = nc.subscribe(`tenant.${globex}.>`);
      const closed = await Promise.race([sub.closed, new Promise((r) => setTimeout(() => r('open'), 3_000))]);
      expect(String(closed)).toMatch(/Permissions Violation for Subscription/);
      await expect(
        jsm.consumers.add(STREAM, {
          durable_name: grantA.consumer,
          filter_subject: `tenant.${globex}.>`,
          ack_policy: AckPolicy.Explicit,
        }),
      ).rejects.toThrow(/Permissions Violation/);
      // every tenant at once, or a consumer without a filter in its subject: refused as well
      await expect(
        jsm.consumers.add(STREAM, {
          durable_name: grantA.consumer,
          filter_subject: 'tenant.>',
          ack_policy: AckPolicy.Explicit,
        }),
      ).rejects.toThrow(/Permissions Violation/);
      await expect(
        jsm.consumers.add(STREAM, { durable_name: grantA.consumer, ack_policy: AckPolicy.Explicit }),
      ).rejects.toThrow(/Permissions Violation/);
      // B's analyst's consumer, or an ephemeral one of any name, is not A's to make
      await expect(
        jsm.consumers.add(STREAM, {
          durable_name: grantB.consumer,
          filter_subject: grantA.subjects,
          ack_policy: AckPolicy.Explicit,
        }),
      ).rejects.toThrow(/Permissions Violation/);
      await expect(jetstream(nc).consumers.get(STREAM, { filter_subjects: grantA.subjects })).rejects.toThrow(
        /Permissions Violation/,
      );
      // nor may A listen on the shared inbox, where other clients' replies and pulled messages arrive
      const inbox = nc.subscribe('_INBOX.>');
      expect(
        String(await Promise.race([inbox.closed, new Promise((r) => setTimeout(() => r('open'), 3_000))])),
      ).toMatch(/Permissions Violation/);
    } finally {
      await nc.close().catch(() => undefined);
    }
  });

  it('refuses A’s analyst publishing into the stream, and managing streams or other consumers', async () => {
    const before = await messagesInStream();
    const { nc, jsm } = await analyst(grantA);
    try {
      await expect(
        jetstream(nc, { timeout: 2_000 }).publish(`tenant.${acme}.message.received.slack`, '{}'),
      ).rejects.toThrow();
      nc.publish(`tenant.${acme}.message.received.slack`, '{}');
      nc.publish('ops.deadletter.router', '{}');
      await nc.flush().catch(() => undefined);
      await expect(jsm.streams.info(STREAM)).rejects.toThrow(/Permissions Violation/);
      await expect(jsm.streams.purge(STREAM)).rejects.toThrow(/Permissions Violation/);
      await expect(jsm.streams.delete(STREAM)).rejects.toThrow(/Permissions Violation/);
      await expect(jsm.streams.deleteMessage(STREAM, 1)).rejects.toThrow(/Permissions Violation/);
      await expect(jsm.streams.add({ name: 'MINE', subjects: [`tenant.${acme}.copy.>`] })).rejects.toThrow(
        /Permissions Violation/,
      );
      const adminJsm = await jetstreamManager(admin);
      await adminJsm.consumers.add(STREAM, { durable_name: 'router', ack_policy: AckPolicy.Explicit });
      await expect(jsm.consumers.delete(STREAM, 'router')).rejects.toThrow(/Permissions Violation/);
      await expect(jsm.consumers.info(STREAM, 'router')).rejects.toThrow(/Permissions Violation/);
      expect(await adminJsm.consumers.info(STREAM, 'router')).toBeTruthy();
    } finally {
      await nc.close().catch(() => undefined);
    }
    expect(await messagesInStream()).toBe(before);
    const opsInfo = await (await jetstreamManager(admin)).streams.info(topo.streams.ops);
    expect(opsInfo.state.messages).toBe(0);
  });

  it('a managed grant reads the consumer ops made for it, from the chosen point, and may define no consumer', async () => {
    const initech = await createTenant(env, 'initech');
    const events: KonstructEvent[] = [];
    const publisher = createPublisher(jetstream(admin), topo);
    for (let n = 0; n < 3; n++) {
      for (const event of journey({
        tenantId: initech,
        agentId: randomUUID(),
        connectionId: randomUUID(),
        clock,
        n,
      })) {
        const { seq } = await publisher.publish(event);
        events.push({ ...event, seq } as KonstructEvent & { seq: number });
      }
    }
    const fromSeq = (events[4] as KonstructEvent & { seq: number }).seq;
    const adminEnv = { ...env, NATS_URL: url, NATS_USER: ADMIN.user, NATS_PASSWORD: ADMIN.pass };
    const run = await konstruct(adminEnv, [
      'analyst',
      'grant',
      '--tenant',
      'initech',
      '--from-seq',
      String(fromSeq),
      '--json',
    ]);
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    const grant = JSON.parse(run.out[0]!) as Grant;
    // load the new user into the server's config
    const config = join(dir, 'server.conf');
    const adminEntry = `{ user: ${JSON.stringify(ADMIN.user)}, password: ${JSON.stringify(ADMIN.pass)} }`;
    await writeFile(
      config,
      authorizationBlock([adminEntry, grantA.configEntry, grantB.configEntry, grant.configEntry]),
    );
    // nats-server 2.9.10 refuses a config reload when started with -sd ("config reload not supported for
    // jetstream storage dir"), so the new user is loaded by a restart; the streams are on disk and stay
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    server = startServer(config);
    await (await connectWithRetry({ servers: url, user: ADMIN.user, pass: ADMIN.pass })).close();

    const { nc, jsm } = await analyst(grant);
    try {
      const consumer = await jetstream(nc).consumers.get(STREAM, grant.consumer);
      const ids: string[] = [];
      for await (const msg of await consumer.fetch({ max_messages: 100, expires: 2_000 })) {
        ids.push(msg.json<KonstructEvent>().id);
        // acknowledged and confirmed: acks on its own consumer are the analyst's to send
        expect(await msg.ackAck()).toBe(true);
        if (msg.info.pending === 0) break;
      }
      expect(ids).toEqual(events.slice(4).map((e) => e.id));
      // not even its own consumer may it redefine (a push delivery subject could point anywhere) or delete
      await expect(
        jsm.consumers.add(STREAM, {
          durable_name: grant.consumer,
          filter_subject: grant.subjects,
          ack_policy: AckPolicy.Explicit,
        }),
      ).rejects.toThrow(/Permissions Violation/);
      await expect(jsm.consumers.delete(STREAM, grant.consumer)).rejects.toThrow(/Permissions Violation/);
    } finally {
      await nc.close().catch(() => undefined);
    }
  });

  it('refuses a grant for a tenant that does not exist, with one line, writing nothing', async () => {
    const out = join(dir, 'nobody.nk');
    const run = await konstruct(env, ['analyst', 'grant', '--tenant', 'nobody', '--out', out]);
    expect(run).toMatchObject({ code: 1, out: [], err: ['konstruct: no tenant "nobody"'] });
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
    const badUser = await konstruct(env, ['analyst', 'grant', '--tenant', 'acme', '--user', 'Has Spaces']);
    expect(badUser.code).toBe(1);
    expect(badUser.err).toHaveLength(1);
    expect(badUser.err[0]).toMatch(/^konstruct: --user: a user name is/);
  });

  it('prints the config to load and how to subscribe with the nats CLI', async () => {
    // self-service: ops-created consumers need the server this test starts, and this one only prints
    const run = await konstruct(env, [
      'analyst',
      'grant',
      '--tenant',
      'acme',
      '--auth',
      'password',
      '--self-service',
    ]);
    expect(run.code).toBe(0);
    const text = run.out.join('\n');
    expect(text).toContain(`analyst analyst-acme for tenant acme (${acme})`);
    expect(text).toMatch(/authorization \{\n {2}users = \[/);
    expect(text).toContain(
      `nats --server nats://127.0.0.1:4222 --user analyst-acme --password "$PASSWORD" --inbox-prefix _INBOX_analyst_acme sub 'tenant.${acme}.>'`,
    );
  });
});
