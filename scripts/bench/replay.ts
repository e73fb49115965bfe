/**
 * `npm run bench:replay`: how fast `konstruct replay` rebuilds a tenant's read models from the stream, beside
 * this machine's ceiling, the raw rate of consuming the same stream without projecting.
 *
 * It fills a stream of its own (random subject prefix and stream names, deleted at the end) with
 * BENCH_JOURNEYS message journeys of one tenant (message.received, message.routed, agent.replied,
 * delivery.succeeded: 4 events each; 50,000 journeys = 200,000 events by default), then in one run measures
 *   (a) the raw read: the same ordered, batched read replay uses, without decoding or projecting (the ceiling),
 *   (b) the read with decoding (zod parsing of every envelope), which any reader of events pays, and
 *   (c) the rebuild through replay's code path (clear, read, decode, project) into a database of its own,
 * printing events/s, RSS sampled at 25/50/75/100% of each pass, and the CPU time per event of this process,
 * Postgres and nats-server over each pass. (a) and (c) alternate for BENCH_ROUNDS rounds (3); the ratio is
 * the best (c) over the best (a), printed beside each round's own ratio (its two passes a few seconds apart,
 * which on a machine whose speed drifts from minute to minute compare like with like) and their median. BENCH_BATCH sets the events per fetch and per transaction (2,000),
 * BENCH_WRITERS the rebuild's concurrent transactions (2).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createPublisher, ensureStreams } from '@konstruct/bus';
import { decodeEvent } from '@konstruct/contracts';
import { manualClock } from '@konstruct/core';
import { createTenant } from '@konstruct/db';
import { tenantWildcard, topology } from '@konstruct/names';
import { createTestBus, createTestDatabase } from '@konstruct/testkit';
import { openRange } from '../../services/cli/src/ops/reader.ts';
import { replay } from '../../services/cli/src/ops/replay.ts';
import { journey } from '../../services/cli/test/journeys.ts';
import { cpuMs, findProcess, namedCpuMs } from './cpu.ts';

const JOURNEYS = Number(process.env.BENCH_JOURNEYS ?? 50_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 2_000);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const mb = () => Math.round(process.memoryUsage().rss / 1_048_576);

/** Records RSS when a pass crosses 25, 50, 75 and 100% of its events. */
function memorySampler(total: number) {
  const marks = [0.25, 0.5, 0.75, 1];
  const samples: string[] = [];
  return {
    at(done: number) {
      while (marks.length > 0 && done >= total * marks[0]!)
        samples.push(`${marks.shift()! * 100}% ${mb()} MB`);
    },
    toString: () => samples.join(', '),
  };
}

/**
 * CPU time per event of this process (reader, worker thread, Postgres client), every postgres process and
 * nats-server over a pass: where a pass's time goes on a machine whose cores they share.
 */
function cpuMeter() {
  const natsPid = findProcess('nats-server');
  const read = () => [cpuMs(process.pid), namedCpuMs('postgres'), cpuMs(natsPid)];
  const before = read();
  return (events: number) => {
    const after = read();
    const [self, postgres, nats] = after.map((a, i) =>
      a === undefined || before[i] === undefined ? '–' : (((a - before[i]!) * 1_000) / events).toFixed(1),
    );
    return `CPU µs/event: this process ${self}, postgres ${postgres}, nats-server ${nats}`;
  };
}

const started = Date.now();
const bus = await createTestBus({ duplicateWindowMs: 60_000 });
const db = await createTestDatabase();
try {
  // the test bus's streams are ours alone; the topology is the production one with its prefix and names
  const topo = topology({
    prefix: bus.topology.prefix,
    events: bus.topology.streams.events,
    ops: bus.topology.streams.ops,
  });
  await ensureStreams(bus.jsm, topo, { duplicateWindowMs: 60_000 });
  const tenant = await createTenant(db.orm, {
    name: 'Bench Corp',
    slug: `bench-${randomBytes(3).toString('hex')}`,
  });
  const publisher = createPublisher(bus.js, topo, { timeoutMs: 30_000 });
  const clock = manualClock(Date.parse('2026-11-01T00:00:00Z'));
  const agentId = randomUUID();
  const connectionId = randomUUID();

  // fill: publishes pipelined 256 at a time; each journey's events in order within a window
  const fillStart = Date.now();
  let inFlight: Promise<unknown>[] = [];
  for (let n = 0; n < JOURNEYS; n++) {
    for (const event of journey({ tenantId: tenant.id, agentId, connectionId, clock, n })) {
      inFlight.push(publisher.publish(event));
      clock.advance(50);
    }
    if (inFlight.length >= 256) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  const info = await bus.jsm.streams.info(topo.streams.events);
  const total = info.state.messages;
  console.log(
    `filled ${total} events (${(info.state.bytes / 1_048_576).toFixed(0)} MB) in ${((Date.now() - fillStart) / 1_000).toFixed(1)}s; RSS ${mb()} MB`,
  );

  async function readPass(decode: boolean): Promise<{ rate: number; memory: string; cpu: string }> {
    const range = await openRange({
      js: bus.js,
      jsm: bus.jsm,
      stream: topo.streams.events,
      filter: tenantWildcard(topo, tenant.id),
      start: { kind: 'all' },
      end: { kind: 'now' },
      batchSize: BATCH,
    });
    const memory = memorySampler(total);
    const cpu = cpuMeter();
    const t0 = performance.now();
    let done = 0;
    let bytes = 0;
    for await (const batch of range.batches()) {
      for (const record of batch) {
        bytes += record.data.length;
        if (decode) decodeEvent(record.data);
      }
      done += batch.length;
      memory.at(done);
    }
    if (done !== total || bytes === 0) throw new Error(`read ${done} of ${total} events`);
    return { rate: done / ((performance.now() - t0) / 1_000), memory: memory.toString(), cpu: cpu(done) };
  }

  async function rebuildPass() {
    // every round rebuilds into empty tables, as the first does, with no dead rows left by the round before
    await db.superSql('truncate messages, conversations, deliveries, delivery_receipts, llm_usage');
    const memory = memorySampler(total);
    const cpu = cpuMeter();
    const t0 = performance.now();
    const summary = await replay({
      orm: db.orm,
      js: bus.js,
      jsm: bus.jsm,
      topology: topo,
      tenantId: tenant.id,
      projections: ['conversations', 'messages', 'deliveries', 'usage'],
      start: { kind: 'all' },
      end: { kind: 'now' },
      rebuild: true,
      batchSize: BATCH,
      writers: WRITERS,
      onProgress: (p) => memory.at(p.done),
    });
    const rate = summary.events / ((performance.now() - t0) / 1_000);
    const cpuText = cpu(summary.events);
    if (summary.events !== total) throw new Error(`replayed ${summary.events} of ${total} events`);
    return { rate, memory: memory.toString(), cpu: cpuText, summary };
  }

  // (a) and (c) alternate for ROUNDS rounds and the best of each counts, as bench:gateway's levels do: on a
  // shared machine one pass can be slowed by anything else, and the ratio is only as good as both figures
  const raws: number[] = [];
  const rebuilds: number[] = [];
  let decodedRate = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round} of ${ROUNDS}`);
    const raw = await readPass(false);
    raws.push(raw.rate);
    console.log(`(a) raw read, no decoding:    ${Math.round(raw.rate)} events/s   RSS ${raw.memory}`);
    console.log(`    ${raw.cpu}`);
    if (round === 1) {
      const decoded = await readPass(true);
      decodedRate = decoded.rate;
      console.log(
        `(b) read + decode (zod):      ${Math.round(decoded.rate)} events/s   RSS ${decoded.memory}`,
      );
      console.log(`    ${decoded.cpu}`);
    }
    const rebuild = await rebuildPass();
    rebuilds.push(rebuild.rate);
    const rows = await db.superSql(
      `select (select count(*) from messages) || ' messages, ' || (select count(*) from conversations) || ' conversations, ' || (select count(*) from deliveries) || ' deliveries, ' || (select count(*) from llm_usage) || ' usage rows'`,
    );
    const { summary } = rebuild;
    console.log(`(c) rebuild (replay):         ${Math.round(rebuild.rate)} events/s   RSS ${rebuild.memory}`);
    console.log(`    ${rebuild.cpu}`);
    console.log(`    wrote ${rows[0]}; batch ${BATCH} events per transaction, ${WRITERS} writers`);
    console.log(
      `    of ${(summary.elapsedMs / 1_000).toFixed(1)}s, ${(summary.projectMs / 1_000).toFixed(1)}s writing (Postgres transactions): ${Math.round(summary.events / (summary.projectMs / 1_000))} events/s for the writes alone`,
    );
    console.log(`    this round: rebuild / raw read ${(rebuild.rate / raw.rate).toFixed(2)}`);
  }
  const perRound = rebuilds.map((rate, i) => rate / raws[i]!);
  const median = [...perRound].sort((x, y) => x - y)[Math.floor((perRound.length - 1) / 2)]!;
  const bestRaw = Math.max(...raws);
  const bestRebuild = Math.max(...rebuilds);
  console.log(
    `best of ${ROUNDS}: raw read ${Math.round(bestRaw)} events/s, rebuild ${Math.round(bestRebuild)} events/s`,
  );
  console.log(
    `ratio rebuild / raw read: ${(bestRebuild / bestRaw).toFixed(2)} (target >= 0.33); rebuild / read+decode: ${(bestRebuild / decodedRate).toFixed(2)}`,
  );
  console.log(
    `each round's rebuild / raw read: ${perRound.map((r) => r.toFixed(2)).join(', ')} (median ${median.toFixed(2)})`,
  );
} finally {
  await db.drop();
  await bus.close();
  console.log(`total ${((Date.now() - started) / 1_000).toFixed(1)}s; streams and database removed`);
}
