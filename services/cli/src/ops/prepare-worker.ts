/**
 * The worker thread of {@link startPreparer}: decodes a batch of one tenant's stream records and plans and
 * serialises its rows (`tenantBatch`), the CPU half of a replay, so the main thread only reads the stream and
 * talks to Postgres. Records arrive packed in one transferred buffer; each is planned as soon as it is
 * decoded; the prepared batch goes back as plain data.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeEvent } from '@konstruct/contracts';
import { describeError, ValidationError } from '@konstruct/core';
// the projections' pure half only: the worker starts without loading the ORM and the database driver
import { type ProjectionName, tenantBatch } from '@konstruct/projections/prepare';
import type { PrepareReply, PrepareRequest } from './preparer.ts';

const { tenantId, projections } = workerData as { tenantId: string; projections: readonly ProjectionName[] };

parentPort!.on('message', ({ id, bytes, ends, seqs }: PrepareRequest) => {
  let reply: PrepareReply;
  try {
    const batch = tenantBatch(tenantId, { projections });
    const unreadable: { seq: number; reason: string }[] = [];
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      try {
        const event = decodeEvent(bytes.subarray(start, ends[i]));
        // the replay reads one tenant's subjects: an event claiming another tenant is refused, as the live
        // consumer refuses it, rather than written into that tenant's read models
        if (event.tenantid !== tenantId) {
          throw new ValidationError(
            `event of tenant ${event.tenantid ?? '(none)'} on a subject of tenant ${tenantId}`,
          );
        }
        batch.add(event);
      } catch (error) {
        unreadable.push({ seq: seqs[i]!, reason: describeError(error) });
      }
      start = ends[i]!;
    }
    const tenant = batch.finish();
    const prepared = { events: tenant.events, withoutTenant: 0, tenants: tenant.events > 0 ? [tenant] : [] };
    reply = { id, prepared, unreadable };
  } catch (error) {
    reply = { id, error: describeError(error) };
  }
  parentPort!.postMessage(reply);
});
