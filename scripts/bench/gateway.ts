/**
 * `npm run bench:gateway`: how many signed Slack events per second the gateway stores, against what this
 * machine's JetStream stores from a plain publisher (the ceiling) and what a Slack Bolt HTTP receiver merely
 * verifies and acknowledges. Loopback only, real NATS and Postgres, its own database and streams, cleaned up.
 *
 * The gateway runs as its real composition root (services/gateway/src/main.ts) in a child process, Bolt in
 * another; a lean keep-alive load generator (./load.ts) drives both from this process with the same signed
 * requests, each with a unique event (`--generator autocannon` drives them with autocannon instead, to compare).
 *
 * Options (all optional): --duration <s> per run (default 4), --levels 1,8,32,64,128, --rounds <n> alternating
 * runs per level of which the faster counts (default 2), --inflight <n> publishes in flight for the ceiling
 * (default 256), --workers <n> also runs the gateway with GATEWAY_WORKERS=n at levels >= 32 (default 2; 1 skips it),
 * --generator lean|autocannon (default lean).
 * The ceiling is measured before and after the HTTP runs; the higher one counts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connectBus } from '@konstruct/bus';
import { createEvent, encodeEvent } from '@konstruct/contracts';
import { randomIds, sleep, systemClock } from '@konstruct/core';
import { decideSlackEvent } from '@konstruct/gateway';
import { tenantSubject } from '@konstruct/names';
import {
  createFixtureSlackTenant,
  createTestBus,
  createTestDatabase,
  FIXTURE_IDS,
  fixture,
} from '@konstruct/testkit';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { z } from 'zod';
import { cpuMs, findProcess, treeCpuMs } from './cpu.ts';
import { type LoadResult, type RawRequest, rawRequest, runLoad } from './load.ts';

const Args = z.object({
  duration: z.coerce.number().positive().max(60).default(4),
  levels: z
    .string()
    .default('1,8,32,64,128')
    .transform((s) => s.split(',').map(Number))
    .pipe(z.array(z.number().int().positive().max(1024)).min(1)),
  inflight: z.coerce.number().int().positive().max(10_000).default(256),
  rounds: z.coerce.number().int().positive().max(5).default(2),
  bolt: z.coerce.number().int().positive().optional(),
  bare: z.coerce.number().int().positive().optional(),
  workers: z.coerce.number().int().min(1).max(16).default(2),
  generator: z.enum(['lean', 'autocannon']).default('lean'),
});
const { values } = parseArgs({
  options: {
    duration: { type: 'string' },
    levels: { type: 'string' },
    inflight: { type: 'string' },
    rounds: { type: 'string' },
    bolt: { type: 'string' },
    bare: { type: 'string' },
    workers: { type: 'string' },
    generator: { type: 'string' },
  },
});
const args = Args.parse(values);
const SIGNING_SECRET = 'bench-signing-secret';
/** Requests signed ahead of each run: more than any target here answers in one run. */
const POOL = Math.ceil(args.duration * 40_000);

// ---- the minimal view of autocannon (it ships no types), the generator `--generator autocannon` uses ----
interface CannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
type Cannon = (options: Record<string, unknown>) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

interface Row {
  target: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  ok: number;
  /** CPU time the server process spent per answered request, in microseconds (Linux only). */
  cpuUs?: number;
  /** CPU time nats-server spent per answered request, in microseconds (Linux, local server only). */
  natsCpuUs?: number;
  /** CPU time the load generator (this process) spent per answered request, in microseconds. */
  loadCpuUs?: number;
}

async function orchestrate(): Promise<void> {
  const started = Date.now();
  console.log('setting up: database, streams, tenant …');
  const [db, bus] = await Promise.all([
    createTestDatabase(),
    createTestBus({ duplicateWindowMs: 24 * 3_600_000 }),
  ]);
  const key = randomBytes(32);
  const children: ChildProcess[] = [];
  try {
    const tenant = await createFixtureSlackTenant(db.orm, key, { name: 'Bench', slugPrefix: 'bench' });

    // 1. the ceiling: the same event bytes the gateway stores, from a plain publisher, many in flight
    const subject = tenantSubject(bus.topology, tenant.id, 'message.received', 'slack');
    const decision = decideSlackEvent(fixture('slack/message_im.json') as never, {
      tenantId: tenant.id,
      connectionId: randomIds.uuid(),
      workspaceId: FIXTURE_IDS.slackTeam,
      enabled: true,
      settings: { botUserId: FIXTURE_IDS.slackBotUser, botId: FIXTURE_IDS.slackBotId },
      credentials: {},
    });
    if (decision.action !== 'publish') throw new Error('the bench message must be publishable');
    const payload = encodeEvent(
      createEvent(
        {
          type: 'message.received',
          id: decision.eventId,
          source: '/konstruct/gateway',
          tenantId: tenant.id,
          data: { message: decision.message },
        },
        { clock: systemClock, ids: randomIds },
      ),
    );
    console.log(
      `ceiling: ${payload.length}-byte events, ${args.inflight} publishes in flight, ${args.duration}s …`,
    );
    // its own connection, configured as the gateway's is (no async stack traces per publish)
    const plain = await connectBus({ url: bus.natsUrl, name: 'bench-ceiling', asyncTraces: false });
    const ceilingBefore = await jetStreamCeiling(
      plain.js,
      subject,
      payload,
      args.inflight,
      args.duration * 1000,
    );

    // 2. the gateway, as its own composition root runs it: one process (as Bolt is), and with --workers
    const startGateway = (port: number, workers: number) =>
      spawn(
        process.execPath,
        [
          // e.g. BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the gateway under load
          ...(process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
          fileURLToPath(new URL('../../services/gateway/src/main.ts', import.meta.url)),
        ],
        {
          env: {
            ...process.env,
            LOG_LEVEL: 'warn',
            NODE_ENV: 'production',
            GATEWAY_PORT: String(port),
            GATEWAY_HOST: '127.0.0.1',
            GATEWAY_WORKERS: String(workers),
            SLACK_SIGNING_SECRET: SIGNING_SECRET,
            WHATSAPP_APP_SECRET: 'bench-whatsapp-secret',
            WHATSAPP_VERIFY_TOKEN: 'bench-verify-token',
            NATS_URL: bus.natsUrl,
            NATS_SUBJECT_PREFIX: bus.topology.prefix,
            NATS_STREAM: bus.topology.streams.events,
            NATS_OPS_STREAM: bus.topology.streams.ops,
            NATS_DUPLICATE_WINDOW: '24h',
            DATABASE_URL: db.appUrl,
            CREDENTIALS_KEY: key.toString('base64'),
          },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
    const gatewayPort = await freePort();
    const gateway = startGateway(gatewayPort, 1);
    const clusterPort = await freePort();
    const clustered = args.workers > 1 ? startGateway(clusterPort, args.workers) : undefined;
    if (clustered) children.push(clustered);
    children.push(gateway);
    const boltPort = await freePort();
    const bolt = spawn(process.execPath, [fileURLToPath(import.meta.url), '--bolt', String(boltPort)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(bolt);
    // the floor: a bare node:http server that reads each body and answers 200, doing nothing else
    const barePort = await freePort();
    const bare = spawn(process.execPath, [fileURLToPath(import.meta.url), '--bare', String(barePort)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(bare);
    await waitReady(`http://127.0.0.1:${gatewayPort}/readyz`);
    if (clustered) await waitReady(`http://127.0.0.1:${clusterPort}/readyz`);
    await waitReady(`http://127.0.0.1:${boltPort}/slack/events`, bolt);
    await waitReady(`http://127.0.0.1:${barePort}/slack/events`, bare);

    // 3. the gateway and Bolt's HTTP receiver on the same requests, level by level, alternating, so that
    // whatever else this machine is doing weighs on both alike
    const before = (await bus.jsm.streams.info(bus.topology.streams.events)).state.messages;
    const gatewayRows: Row[] = [];
    const boltRows: Row[] = [];
    refill(POOL);
    let answered = (await drive(gatewayPort, 16, 2)).ok;
    poolNext = 0;
    await drive(boltPort, 16, 2);
    for (const connections of args.levels) {
      // best of `rounds` alternating runs per level: bursts of unrelated load on a shared machine only ever
      // slow a run down, so the faster run is the better estimate of what the server can do
      let g: Row | undefined;
      let b: Row | undefined;
      for (let round = 0; round < args.rounds; round++) {
        refill(POOL);
        const gr = await level('gateway', gatewayPort, connections, gateway.pid);
        answered += gr.ok;
        if (!g || gr.rps > g.rps) g = gr;
        poolNext = 0;
        const br = await level('bolt', boltPort, connections, bolt.pid);
        if (!b || br.rps > b.rps) b = br;
      }
      gatewayRows.push(g!);
      boltRows.push(b!);
    }
    // the best of `rounds` fresh-pool runs at each busy level (>= 32 connections); `stores`: its 200s are events
    async function busyLevels(
      target: string,
      port: number,
      pid: number | undefined,
      stores: boolean,
    ): Promise<Row[]> {
      const rows: Row[] = [];
      for (const connections of args.levels.filter((c) => c >= 32)) {
        let best: Row | undefined;
        for (let round = 0; round < args.rounds; round++) {
          refill(POOL);
          const r = await level(target, port, connections, pid);
          if (stores) answered += r.ok;
          if (!best || r.rps > best.rps) best = r;
        }
        rows.push(best!);
      }
      return rows;
    }
    // the bare server at the gateway's busiest levels only: what any Node HTTP server reaches here
    const bareRows = await busyLevels('bare node:http', barePort, bare.pid, false);
    // the gateway with --workers processes, at the same busy levels: what it stores when it may use every core
    let clusterRows: Row[] = [];
    if (clustered) {
      refill(POOL);
      answered += (await drive(clusterPort, 16, 2)).ok;
      clusterRows = await busyLevels(`gateway ×${args.workers}`, clusterPort, clustered.pid, true);
    }
    const stored = (await bus.jsm.streams.info(bus.topology.streams.events)).state.messages - before;
    const ceilingAfter = await jetStreamCeiling(
      plain.js,
      subject,
      payload,
      args.inflight,
      args.duration * 1000,
    );
    await plain.nc.drain();
    const ceiling = Math.max(ceilingBefore, ceilingAfter);
    for (const child of [gateway, bolt, bare, ...(clustered ? [clustered] : [])]) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }

    report({
      ceiling,
      gatewayRows,
      boltRows,
      bareRows,
      clusterRows,
      stored,
      answered,
      seconds: (Date.now() - started) / 1000,
    });
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all([bus.close(), db.drop()]);
  }
}

let sequence = 0;
let template: { event: Record<string, unknown>; event_id: string } | undefined;

/** A signed message_im request with a unique event_id and ts, as Slack would send it. */
function signedRequest(): { body: string; headers: Record<string, string> } {
  // the fixture is read once: the load generator shares this machine's two cores with what it measures
  template ??= fixture('slack/message_im.json') as { event: Record<string, unknown>; event_id: string };
  const n = sequence++;
  const ts = `${1764151320 + Math.floor(n / 1_000_000)}.${String(n % 1_000_000).padStart(6, '0')}`;
  template.event_id = `EvBENCH${n}`;
  template.event.ts = ts;
  template.event.event_ts = ts;
  const text = JSON.stringify(template);
  const t = Math.floor(Date.now() / 1000);
  return {
    body: text,
    headers: {
      'content-type': 'application/json',
      'x-slack-request-timestamp': String(t),
      'x-slack-signature': `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${t}:${text}`).digest('hex')}`,
    },
  };
}

/**
 * Signed requests made before a run, so that during it the load generator, which shares the two cores with
 * what it measures, only sends: signing each request as it is sent cost it about as much CPU as a bare server
 * spends answering one. Gateway rounds take fresh ones (each event is stored once, so each must be new); Bolt and
 * the bare server, which store nothing, reuse the round's. Timestamps stay well within Slack's 5 minutes.
 */
interface Signed {
  body: string;
  headers: Record<string, string>;
  /** The whole request as bytes, for the lean generator. */
  raw?: RawRequest;
}
let pool: Signed[] = [];
let poolNext = 0;
let poolMisses = 0;
/** A signed request, with its bytes ready when the lean generator sends it. */
function signedForGenerator(): Signed {
  const signed: Signed = signedRequest();
  if (args.generator === 'lean') signed.raw = rawRequest('/slack/events', signed.headers, signed.body);
  return signed;
}
function refill(count: number): void {
  pool = Array.from({ length: count }, signedForGenerator);
  poolNext = 0;
}
function nextSigned(): Signed {
  const next = pool[poolNext++];
  if (next) return next;
  poolMisses++;
  return signedForGenerator();
}

async function drive(port: number, connections: number, seconds: number): Promise<LoadResult> {
  if (args.generator === 'lean') {
    return runLoad({
      port,
      connections,
      seconds,
      next: () => nextSigned().raw!,
    });
  }
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/slack/events`,
    method: 'POST',
    connections,
    duration: seconds,
    timeout: 5,
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => {
          const next = nextSigned();
          return { ...req, method: 'POST', path: '/slack/events', body: next.body, headers: next.headers };
        },
      },
    ],
  });
  return {
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
  };
}

async function level(target: string, port: number, connections: number, pid?: number): Promise<Row> {
  const natsPid = findProcess('nats-server');
  const cpuBefore = [treeCpuMs(pid), cpuMs(natsPid), cpuMs(process.pid)];
  const r = await drive(port, connections, args.duration);
  const cpuAfter = [treeCpuMs(pid), cpuMs(natsPid), cpuMs(process.pid)];
  const perRequest = (i: number) =>
    cpuBefore[i] !== undefined && cpuAfter[i] !== undefined && r.ok > 0
      ? ((cpuAfter[i]! - cpuBefore[i]!) * 1000) / r.ok
      : undefined;
  const row: Row = {
    target,
    connections,
    rps: r.rps,
    p50: r.p50,
    p99: r.p99,
    errors: r.errors + r.non2xx,
    ok: r.ok,
    cpuUs: perRequest(0),
    natsCpuUs: perRequest(1),
    loadCpuUs: perRequest(2),
  };
  console.log(
    `${target.padEnd(8)} c=${String(connections).padStart(3)}  ${row.rps.toFixed(0).padStart(6)} req/s  p50 ${row.p50} ms  p99 ${row.p99} ms  errors ${row.errors}  cpu/req ${fmt(row.cpuUs)} µs (nats-server ${fmt(row.natsCpuUs)} µs, load generator ${fmt(row.loadCpuUs)} µs)`,
  );
  return row;
}

function fmt(n: number | undefined): string {
  return n === undefined ? '–' : n.toFixed(0);
}

/** Stores `payload` under unique message ids with `inflight` publishes outstanding; events per second. */
async function jetStreamCeiling(
  js: Awaited<ReturnType<typeof createTestBus>>['js'],
  subject: string,
  payload: Uint8Array,
  inflight: number,
  durationMs: number,
): Promise<number> {
  let stored = 0;
  let n = 0;
  const run = randomBytes(4).toString('hex');
  const deadline = Date.now() + durationMs;
  const natsPid = findProcess('nats-server');
  const cpuBefore = [cpuMs(process.pid), cpuMs(natsPid)];
  const begin = performance.now();
  async function lane(): Promise<void> {
    while (Date.now() < deadline) {
      const h = natsHeaders();
      h.set('Content-Type', 'application/cloudevents+json');
      const ack = await js.publish(subject, payload, {
        msgID: `ceiling:${run}:${n++}`,
        timeout: 5_000,
        headers: h,
      });
      if (!ack.duplicate) stored++;
    }
  }
  await Promise.all(Array.from({ length: inflight }, lane));
  const elapsedMs = performance.now() - begin;
  const rate = stored / (elapsedMs / 1000);
  // how busy each side was: whether the ceiling is the publisher's, nats-server's or the machine's
  const cpuAfter = [cpuMs(process.pid), cpuMs(natsPid)];
  const busy = (i: number) =>
    cpuBefore[i] !== undefined && cpuAfter[i] !== undefined
      ? `${Math.round(((cpuAfter[i]! - cpuBefore[i]!) / elapsedMs) * 100)}%`
      : '–';
  console.log(
    `ceiling  ${rate.toFixed(0)} events/s stored (CPU: publisher ${busy(0)}, nats-server ${busy(1)} of one core)`,
  );
  return rate;
}

function report({
  ceiling,
  gatewayRows,
  boltRows,
  bareRows,
  clusterRows,
  stored,
  answered,
  seconds,
}: {
  ceiling: number;
  gatewayRows: Row[];
  boltRows: Row[];
  bareRows: Row[];
  clusterRows: Row[];
  stored: number;
  answered: number;
  seconds: number;
}): void {
  const peak = (rows: Row[]) => rows.reduce((a, b) => (b.rps > a.rps ? b : a));
  const g = peak(gatewayRows);
  const b = peak(boltRows);
  console.log(
    '\n| target | connections | req/s | p50 ms | p99 ms | errors | server CPU µs/req | nats-server CPU µs/req | load generator CPU µs/req |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of [...gatewayRows, ...clusterRows, ...boltRows, ...bareRows]) {
    console.log(
      `| ${r.target} | ${r.connections} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${fmt(r.cpuUs)} | ${fmt(r.natsCpuUs)} | ${fmt(r.loadCpuUs)} |`,
    );
  }
  console.log(
    `| JetStream ceiling (plain publisher, ${args.inflight} in flight) | – | ${ceiling.toFixed(0)} | – | – | – | – | – | – |`,
  );
  // like for like against Bolt (one process each); against the ceiling, the gateway at its best
  const best = peak([...gatewayRows, ...clusterRows]);
  const vsBolt = g.rps / b.rps;
  const vsCeiling = best.rps / ceiling;
  console.log(
    `\ngateway peak ${g.rps.toFixed(0)} req/s at ${g.connections} connections (p99 ${g.p99} ms), one process`,
  );
  if (clusterRows.length > 0) {
    const c = peak(clusterRows);
    console.log(
      `gateway ×${args.workers} peak ${c.rps.toFixed(0)} req/s at ${c.connections} connections (p99 ${c.p99} ms)`,
    );
  }
  console.log(
    `bolt peak    ${b.rps.toFixed(0)} req/s at ${b.connections} connections (p99 ${b.p99} ms), one process`,
  );
  console.log(
    `gateway/bolt    ${vsBolt.toFixed(2)}  target >= 1.00  ${vsBolt >= 1 ? 'HOLDS' : 'MISSES'}  (one process each)`,
  );
  console.log(
    `gateway/ceiling ${vsCeiling.toFixed(2)}  target >= 0.50  ${vsCeiling >= 0.5 ? 'HOLDS' : 'MISSES'}  (${best.target})`,
  );
  console.log(
    `p99 at peak     ${best.p99} ms  target < 50 ms  ${best.p99 < 50 ? 'HOLDS' : 'MISSES'}  (${best.target})`,
  );
  if (bareRows.length > 0) {
    const bare = peak(bareRows);
    console.log(
      `bare node:http ${bare.rps.toFixed(0)} req/s = ${(bare.rps / ceiling).toFixed(2)} of the ceiling (a server doing nothing, on the same cores as the load generator); gateway = ${(g.rps / bare.rps).toFixed(2)} of it`,
    );
  }
  // more stored than answered is a request the load generator gave up on after it was stored; fewer is a 200
  // for an event that was not stored, which must never happen
  console.log(
    `stored ${stored} events for ${answered} answered 200: ${stored >= answered ? 'every acknowledged event is stored' : 'MISMATCH: a 200 without a stored event'}`,
  );
  if (poolMisses > 0)
    console.log(`${poolMisses} requests were signed during a run (the pre-signed pool ran out)`);
  console.log(`(${seconds.toFixed(0)} s, ${process.version}, loopback)`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Polls until the URL answers (any status for Bolt's POST-only route, 200 for /readyz). */
async function waitReady(url: string, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child?.exitCode != null) throw new Error(`${url}: child exited with ${child.exitCode}`);
    const res = await fetch(url).catch(() => undefined);
    if (res && (child ? true : res.ok)) return;
    await sleep(100);
  }
  throw new Error(`${url} did not become ready`);
}

// ---- child modes: a Bolt app verifying and acknowledging the same requests; a bare HTTP server ----
if (args.bolt !== undefined) {
  await serveBolt(args.bolt);
} else if (args.bare !== undefined) {
  await serveBare(args.bare);
} else {
  await orchestrate();
}

/** Child mode: a Bolt app verifying and acknowledging the same requests. */
async function serveBolt(port: number): Promise<void> {
  const { App, HTTPReceiver, LogLevel } = await import('@slack/bolt');
  const receiver = new HTTPReceiver({
    signingSecret: SIGNING_SECRET,
    endpoints: '/slack/events',
    logLevel: LogLevel.ERROR,
  });
  const app = new App({
    receiver,
    token: 'xoxb-bench-token',
    botUserId: FIXTURE_IDS.slackBotUser,
    botId: FIXTURE_IDS.slackBotId,
    tokenVerificationEnabled: false,
    logLevel: LogLevel.ERROR,
  });
  // what a team would otherwise build on: verify, acknowledge, hand the event to a listener
  app.event('message', async () => {});
  app.event('app_mention', async () => {});
  await app.start(port);
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => void app.stop().then(() => process.exit(0)));
}

/** Child mode: node:http reading each body and answering 200 — the least any webhook server must do. */
async function serveBare(port: number): Promise<void> {
  const { createServer: createHttpServer } = await import('node:http');
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
