/**
 * Decoding and preparing one batch of a tenant's stream records: what the replay's worker thread does with
 * each batch, and what the main thread does itself while that worker is still starting. Loads no database
 * code (the worker starts faster without it).
 */
import { decodeEvent } from '@konstruct/contracts';
import { describeError } from '@konstruct/core';
// the projections' pure half only: the worker starts without loading the ORM and the database driver
import { type PreparedBatch, type ProjectionName, tenantBatch } from '@konstruct/projections/prepare';

/** A batch decoded and prepared, with the records that could not be read. */
export interface Prepared {
  prepared: PreparedBatch;
  /** Records whose payload is not an event this build reads, or an event of another tenant, with the reason. */
  unreadable: { seq: number; reason: string }[];
}

/**
 * Decodes `count` records (`payload(i)`, `seq(i)`) of one tenant and plans and serialises their rows, each
 * event planned as soon as it is decoded. A record that is not a readable event of this tenant is skipped
 * with its reason; the rest are prepared.
 */
export function prepareRecords(
  tenantId: string,
  projections: readonly ProjectionName[],
  count: number,
  payload: (i: number) => Uint8Array,
  seq: (i: number) => number,
): Prepared {
  const batch = tenantBatch(tenantId, { projections });
  const unreadable: { seq: number; reason: string }[] = [];
  for (let i = 0; i < count; i++) {
    try {
      // the replay reads one tenant's subjects: an event claiming another tenant is refused (tenantBatch),
      // as the live consumer refuses it, rather than written into that tenant's read models
      const event = decodeEvent(payload(i));
      batch.add(event);
    } catch (error) {
      unreadable.push({ seq: seq(i), reason: describeError(error) });
    }
  }
  const tenant = batch.finish();
  return {
    prepared: { events: tenant.events, withoutTenant: 0, tenants: tenant.events > 0 ? [tenant] : [] },
    unreadable,
  };
}
