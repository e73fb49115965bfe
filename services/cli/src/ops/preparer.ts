import { Worker } from 'node:worker_threads';
import { describeError } from '@konstruct/core';
import type { PreparedBatch, ProjectionName } from '@konstruct/projections';
import { type Prepared, prepareRecords } from './prepare-batch.ts';
import type { StreamRecord } from './reader.ts';

export type { Prepared } from './prepare-batch.ts';

/** A batch of records sent to the worker: their payloads packed in one buffer (transferred, not copied). */
export interface PrepareRequest {
  id: number;
  bytes: Uint8Array;
  /** Where each record's payload ends in `bytes`. */
  ends: Uint32Array;
  seqs: Float64Array;
}

/** What the worker sends: that it has loaded, or its answer to a request. */
export type PrepareReply =
  | { ready: true; id?: undefined }
  | { id: number; prepared: PreparedBatch; unreadable: { seq: number; reason: string }[]; error?: undefined }
  | { id: number; error: string };

/** Decodes and prepares batches on a worker thread. */
export interface Preparer {
  /** Resolves with the batch prepared; batches are prepared in the order they are sent. */
  prepare(records: readonly StreamRecord[]): Promise<Prepared>;
  /** How many batches were prepared on this thread (before the worker was ready) and on the worker. */
  readonly counts: { here: number; worker: number };
  /** Resolves once the worker has loaded and takes the batches; rejects if it failed to start. */
  readonly ready: Promise<void>;
  /** Stops the worker. */
  close(): Promise<void>;
}

/**
 * Starts a worker thread that decodes one tenant's events and prepares their projection (zod parsing, planning and
 * serialising the rows): the CPU half of a replay, which on one thread with the stream reads and the
 * Postgres protocol was a replay's bottleneck. The main thread keeps the I/O.
 *
 * Loading the worker's code takes a third of a second or more; until the worker says it is ready, batches
 * are prepared on this thread (whose code is loaded already) so that the first writes need not wait for it;
 * from then on, every batch goes to the worker. Each batch's promise is its own, so the order holds.
 */
export function startPreparer(tenantId: string, projections: readonly ProjectionName[]): Preparer {
  const worker = new Worker(new URL('./prepare-worker.ts', import.meta.url), {
    workerData: { tenantId, projections: [...projections] },
  });
  const waiting = new Map<number, { resolve: (p: Prepared) => void; reject: (e: Error) => void }>();
  const counts = { here: 0, worker: 0 };
  let ready = false;
  const readiness = Promise.withResolvers<void>();
  // nobody need wait for it: a worker that fails to start fails every batch sent to it
  readiness.promise.catch(() => undefined);
  let nextId = 0;
  let stopped: Error | undefined;
  const failAll = (error: Error) => {
    stopped ??= error;
    readiness.reject(error);
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };
  worker.on('message', (reply: PrepareReply) => {
    if ('ready' in reply) {
      ready = true;
      readiness.resolve();
      return;
    }
    const waiter = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.error !== undefined) waiter?.reject(new Error(`preparing a batch failed: ${reply.error}`));
    else waiter?.resolve({ prepared: reply.prepared, unreadable: reply.unreadable });
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => failAll(new Error(`the prepare worker stopped (exit code ${code})`)));

  function prepareHere(records: readonly StreamRecord[]): Promise<Prepared> {
    counts.here += 1;
    try {
      return Promise.resolve(
        prepareRecords(
          tenantId,
          projections,
          records.length,
          (i) => records[i]!.data,
          (i) => records[i]!.seq,
        ),
      );
    } catch (error) {
      return Promise.reject(new Error(`preparing a batch failed: ${describeError(error)}`));
    }
  }

  function prepareOnWorker(records: readonly StreamRecord[]): Promise<Prepared> {
    counts.worker += 1;
    let size = 0;
    for (const record of records) size += record.data.length;
    const bytes = new Uint8Array(size);
    const ends = new Uint32Array(records.length);
    const seqs = new Float64Array(records.length);
    let at = 0;
    records.forEach((record, i) => {
      bytes.set(record.data, at);
      at += record.data.length;
      ends[i] = at;
      seqs[i] = record.seq;
    });
    const id = nextId++;
    const request: PrepareRequest = { id, bytes, ends, seqs };
    return new Promise<Prepared>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage(request, [bytes.buffer, ends.buffer, seqs.buffer]);
    });
  }

  return {
    counts,
    ready: readiness.promise,
    prepare(records) {
      if (stopped) return Promise.reject(stopped);
      return ready ? prepareOnWorker(records) : prepareHere(records);
    },
    async close() {
      await worker.terminate();
    },
  };
}
