/**
 * The worker thread of {@link startPreparer}: decodes a batch of one tenant's stream records and plans and
 * serialises its rows ({@link prepareRecords}), the CPU half of a replay, so the main thread only reads the
 * stream and talks to Postgres. Records arrive packed in one transferred buffer; the prepared batch goes back
 * as plain data. Says `ready` once its code is loaded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeError } from '@konstruct/core';
import type { ProjectionName } from '@konstruct/projections/prepare';
import { prepareRecords } from './prepare-batch.ts';
import type { PrepareReply, PrepareRequest } from './preparer.ts';

const { tenantId, projections } = workerData as { tenantId: string; projections: readonly ProjectionName[] };

parentPort!.on('message', ({ id, bytes, ends, seqs }: PrepareRequest) => {
  let reply: PrepareReply;
  try {
    const { prepared, unreadable } = prepareRecords(
      tenantId,
      projections,
      ends.length,
      (i) => bytes.subarray(i === 0 ? 0 : ends[i - 1], ends[i]),
      (i) => seqs[i]!,
    );
    reply = { id, prepared, unreadable };
  } catch (error) {
    reply = { id, error: describeError(error) };
  }
  parentPort!.postMessage(reply);
});
parentPort!.postMessage({ ready: true } satisfies PrepareReply);
