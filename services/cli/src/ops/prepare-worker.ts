/**
 * The worker thread of {@link startPreparer}: decodes a batch of stream records and plans and serialises its
 * rows (`prepareProjection`), the CPU half of a replay, so the main thread only reads the stream and talks
 * to Postgres. Records arrive packed in one transferred buffer; the prepared batch goes back as plain data.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeEvent, type KonstructEvent } from '@konstruct/contracts';
import { describeError } from '@konstruct/core';
import { type ProjectionName, prepareProjection } from '@konstruct/projections';
import type { PrepareReply, PrepareRequest } from './preparer.ts';

const { projections } = workerData as { projections: readonly ProjectionName[] };

parentPort!.on('message', ({ id, bytes, ends, seqs }: PrepareRequest) => {
  let reply: PrepareReply;
  try {
    const decoded: KonstructEvent[] = [];
    const unreadable: { seq: number; reason: string }[] = [];
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      try {
        decoded.push(decodeEvent(bytes.subarray(start, ends[i])));
      } catch (error) {
        unreadable.push({ seq: seqs[i]!, reason: describeError(error) });
      }
      start = ends[i]!;
    }
    reply = { id, prepared: prepareProjection(decoded, { projections }), unreadable };
  } catch (error) {
    reply = { id, error: describeError(error) };
  }
  parentPort!.postMessage(reply);
});
