import { Worker } from 'node:worker_threads';
import type { PreparedBatch, ProjectionName } from '@konstruct/projections';
import type { StreamRecord } from './reader.ts';

/** A batch of records sent to the worker: their payloads packed in one buffer (transferred, not copied). */
export interface PrepareRequest {
  id: number;
  bytes: Uint8Array;
  /** Where each record's payload ends in `bytes`. */
  ends: Uint32Array;
  seqs: Float64Array;
}

/** What the worker sends back for a request. */
export type PrepareReply =
  | { id: number; prepared: PreparedBatch; unreadable: { seq: number; reason: string }[]; error?: undefined }
  | { id: number; error: string };

/** A batch decoded and prepared, with the records that could not be read. */
export interface Prepared {
  prepared: PreparedBatch;
  /** Records whose payload is not an event this build reads, or an event of another tenant, with the reason. */
  unreadable: { seq: number; reason: string }[];
}

/** Decodes and prepares batches on a worker thread. */
export interface Preparer {
  /** Resolves with the batch prepared; batches are prepared in the order they are sent. */
  prepare(records: readonly StreamRecord[]): Promise<Prepared>;
  /** Stops the worker. */
  close(): Promise<void>;
}

/**
 * Starts a worker thread that decodes one tenant's events and prepares their projection (zod parsing, planning and
 * serialising the rows): the CPU half of a replay, which on one thread with the stream reads and the
 * Postgres protocol was a replay's bottleneck. The main thread keeps the I/O.
 */
export function startPreparer(tenantId: string, projections: readonly ProjectionName[]): Preparer {
  const worker = new Worker(new URL('./prepare-worker.ts', import.meta.url), {
    workerData: { tenantId, projections: [...projections] },
  });
  const waiting = new Map<number, { resolve: (p: Prepared) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let stopped: Error | undefined;
  const failAll = (error: Error) => {
    stopped ??= error;
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };
  worker.on('message', (reply: PrepareReply) => {
    const waiter = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.error !== undefined) waiter?.reject(new Error(`preparing a batch failed: ${reply.error}`));
    else waiter?.resolve({ prepared: reply.prepared, unreadable: reply.unreadable });
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => failAll(new Error(`the prepare worker stopped (exit code ${code})`)));
  return {
    prepare(records) {
      if (stopped) return Promise.reject(stopped);
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
    },
    async close() {
      await worker.terminate();
    },
  };
}
