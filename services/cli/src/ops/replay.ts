import { type Clock, type Logger, systemClock } from '@konstruct/core';
import type { Database } from '@konstruct/db';
import { type Topology, tenantWildcard } from '@konstruct/names';
import {
  clearProjections,
  finishRebuild,
  type PreparedBatch,
  type ProjectionName,
  writePrepared,
} from '@konstruct/projections';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { EndAt, StartAt } from './bounds.ts';
import { type Prepared, startPreparer } from './preparer.ts';
import { openRange } from './reader.ts';

/** The stream sequences a batch covers, and how many events it holds. */
interface BatchSpan {
  first: number;
  last: number;
  count: number;
}

/** What to replay: one tenant, some read models, a range of its events. */
export interface ReplayRequest {
  orm: Database;
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  tenantId: string;
  projections: readonly ProjectionName[];
  start: StartAt;
  end: EndAt;
  /** Clear the tenant's read models first (a full rebuild) or only re-project the range (idempotent upserts). */
  rebuild: boolean;
  /** Events per fetch and per transaction. @default 2_000 */
  batchSize?: number;
  /**
   * Transactions a rebuild writes at once (a range replay writes one at a time, as the live consumer does).
   * @default 2
   */
  writers?: number;
  /** Called after every projected batch. */
  onProgress?: (progress: ReplayProgress) => void;
  /** Called once the range is known, before the first event is projected. */
  onStart?: (range: {
    estimated: number;
    endSeq: number;
    cleared: Record<string, number> | undefined;
  }) => void;
  /** Abort to stop after the batch in hand (Ctrl-C). */
  signal?: AbortSignal;
  logger?: Logger;
  clock?: Clock;
}

/** Where a replay stands. */
export interface ReplayProgress {
  /** Events read from the stream so far. */
  done: number;
  /** About how many there are in all (the matching messages when the read started). */
  estimated: number;
  lastSeq: number;
  elapsedMs: number;
}

/** What a replay did. */
export interface ReplaySummary {
  /** Rows deleted per table by the clear, for a rebuild. */
  cleared: Record<string, number> | undefined;
  /** Events read. */
  events: number;
  /**
   * Events the payload of which could not be read (an unknown schema version, say), or that claim another
   * tenant than the subject they are on; the live consumers dead-letter them.
   */
  unreadable: number;
  /** Rows sent per table (an upsert may leave a row unchanged). */
  rows: Record<string, number>;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  /** The last stream sequence the replay covers, fixed when it started. */
  endSeq: number;
  elapsedMs: number;
  /** Of which at least one Postgres transaction was running (planning overlaps them). */
  projectMs: number;
  /** True when stopped by the signal before the end. */
  interrupted: boolean;
}

/**
 * Re-projects one tenant's events from the events stream into its read models, batch by batch, through the
 * same projection code the live projections consumer uses: one transaction per batch, upserts keyed on event
 * ids, commutative merges. A rebuild first clears the tenant's chosen read models in one transaction.
 *
 * Live traffic keeps flowing during a rebuild, and no event is lost or counted twice, because the end of the
 * replay is read from the stream only AFTER the clear has committed: an event the live consumer projected
 * before (or while) the clear ran was stored before it, so it is at or below that end and is replayed; an event
 * stored after the clear is projected by the live consumer into the emptied tables. Both write through
 * idempotent, order-independent upserts, so whichever comes first, the rows end up as one pass would leave them.
 * (Pausing the live consumer instead would stall every tenant for one tenant's rebuild.)
 *
 * A rebuild writes `writers` batches at once (Postgres writes them on as many backends), rows only, and
 * recounts conversations and joins receipts once at the end ({@link finishRebuild}): writers that cannot see
 * each other's rows could not count or join them. A range replay writes its transactions one after another,
 * in stream order, with those refreshes in each, as the live consumer does.
 *
 * Interrupting is safe: batches already committed stay (a rebuild still refreshes its counts and joins);
 * running the same replay again clears again (a rebuild) or re-projects the same events again (a range),
 * which changes nothing.
 */
export async function replay(request: ReplayRequest): Promise<ReplaySummary> {
  const { orm, js, jsm, topology, tenantId, projections, start, end, rebuild, signal, onProgress } = request;
  const clock = request.clock ?? systemClock;
  const batchSize = request.batchSize ?? 2_000;
  const writers = rebuild ? Math.max(1, request.writers ?? 2) : 1;
  const startedAt = clock.now();
  // decoding and preparing (CPU) run on a worker thread, two batches ahead, while this thread reads and
  // writes. Started first: loading and compiling its code takes about as long as the clear and the range
  // lookup, which it now overlaps.
  const preparer = startPreparer(tenantId, projections);
  let cleared: Record<string, number> | undefined;
  let range: Awaited<ReturnType<typeof openRange>>;
  try {
    cleared = rebuild ? await clearProjections(orm, tenantId, projections) : undefined;
    range = await openRange({
      js,
      jsm,
      stream: topology.streams.events,
      filter: tenantWildcard(topology, tenantId),
      start,
      end,
      batchSize,
    });
  } catch (error) {
    await preparer.close();
    throw error;
  }
  request.onStart?.({ estimated: range.estimated, endSeq: range.endSeq, cleared });
  const rows: Record<string, number> = {};
  let events = 0;
  let unreadable = 0;
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  // up to `writers` transactions at once; the worker prepares the next batches meanwhile
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let projectMs = 0;
  let busySince = 0;
  const project = async (prepared: PreparedBatch, seqs: BatchSpan) => {
    const result = await writePrepared(orm, prepared, { rebuilding: rebuild });
    for (const [table, n] of Object.entries(result.rows)) rows[table] = (rows[table] ?? 0) + n;
    events += seqs.count;
    firstSeq = Math.min(firstSeq ?? seqs.first, seqs.first);
    lastSeq = Math.max(lastSeq ?? seqs.last, seqs.last);
    onProgress?.({ done: events, estimated: range.estimated, lastSeq, elapsedMs: clock.now() - startedAt });
  };
  const launch = (prepared: PreparedBatch, seqs: BatchSpan) => {
    if (inFlight.size === 0) busySince = clock.now();
    const write: Promise<void> = project(prepared, seqs)
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => {
        inFlight.delete(write);
        if (inFlight.size === 0) projectMs += clock.now() - busySince;
      });
    inFlight.add(write);
  };
  const preparing: { prepared: Promise<Prepared>; seqs: BatchSpan }[] = [];
  const launchNext = async () => {
    const { prepared, seqs } = preparing.shift()!;
    const batch = await prepared;
    for (const { seq, reason } of batch.unreadable) {
      unreadable += 1;
      request.logger?.warn({ tenantId, seq, reason }, 'unreadable event skipped by replay');
    }
    while (inFlight.size >= writers) await Promise.race(inFlight);
    if (!failure) launch(batch.prepared, seqs);
  };
  try {
    for await (const batch of range.batches(signal)) {
      const prepared = preparer.prepare(batch);
      // a batch left behind by a failure is not waited for: its rejection is not an unhandled one
      prepared.catch(() => undefined);
      preparing.push({
        prepared,
        seqs: { first: batch[0]!.seq, last: batch.at(-1)!.seq, count: batch.length },
      });
      // two batches ahead of the writers while the worker prepares them; one prepared on this thread (while
      // the worker starts) is ready at once and need not wait for the next
      if (preparing.length >= (preparer.counts.worker > 0 ? 2 : 1)) await launchNext();
      if (failure) break;
    }
    // Ctrl-C: what is already written stays, batches still being prepared are left
    while (preparing.length > 0 && !failure && !signal?.aborted) await launchNext();
  } catch (error) {
    failure ??= { error };
  } finally {
    await preparer.close();
  }
  await Promise.all(inFlight);
  // the counts and joins the rebuild's writers left out, also after a failed or interrupted rebuild: its rows
  // stay, and must read right until it is run again
  if (rebuild) {
    const finishStart = clock.now();
    try {
      await finishRebuild(orm, tenantId, projections);
    } catch (error) {
      failure ??= { error };
    }
    projectMs += clock.now() - finishStart;
  }
  if (failure) throw failure.error;
  return {
    cleared,
    events,
    unreadable,
    rows,
    firstSeq,
    lastSeq,
    endSeq: range.endSeq,
    elapsedMs: clock.now() - startedAt,
    projectMs,
    interrupted: signal?.aborted === true,
  };
}

/** What a dry run reports: the range a replay would cover, counted exactly (headers only, nothing decoded). */
export async function previewReplay(
  request: Pick<ReplayRequest, 'js' | 'jsm' | 'topology' | 'tenantId' | 'start' | 'end'>,
): Promise<{ events: number; firstSeq: number | undefined; lastSeq: number | undefined; endSeq: number }> {
  const range = await openRange({
    js: request.js,
    jsm: request.jsm,
    stream: request.topology.streams.events,
    filter: tenantWildcard(request.topology, request.tenantId),
    start: request.start,
    end: request.end,
    batchSize: 5_000,
    headersOnly: true,
  });
  let events = 0;
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  for await (const batch of range.batches()) {
    events += batch.length;
    firstSeq ??= batch[0]!.seq;
    lastSeq = batch.at(-1)!.seq;
  }
  return { events, firstSeq, lastSeq, endSeq: range.endSeq };
}
