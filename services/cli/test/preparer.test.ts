import { randomUUID } from 'node:crypto';
import { encodeEvent } from '@konstruct/contracts';
import { manualClock } from '@konstruct/core';
import { PROJECTION_NAMES } from '@konstruct/projections';
import { describe, expect, it } from 'vitest';
import { prepareRecords } from '../src/ops/prepare-batch.ts';
import { startPreparer } from '../src/ops/preparer.ts';
import type { StreamRecord } from '../src/ops/reader.ts';
import { journey } from './journeys.ts';

const tenantId = randomUUID();
const clock = manualClock(Date.parse('2026-11-20T09:00:00Z'));

/** A batch as the stream gives it: 12 journeys of the tenant, one payload that is not JSON, one other tenant's event. */
function records(): StreamRecord[] {
  const agentId = randomUUID();
  const connectionId = randomUUID();
  const events = Array.from({ length: 12 }, (_, n) =>
    journey({ tenantId, agentId, connectionId, clock, n }),
  ).flat();
  const payloads = events.map((event) => encodeEvent(event));
  payloads.splice(5, 0, new TextEncoder().encode('{"not": "an event"'));
  const [stranger] = journey({ tenantId: randomUUID(), agentId, connectionId, clock, n: 99 });
  payloads.push(encodeEvent(stranger!));
  return payloads.map((data, i) => ({ seq: 100 + i, subject: 'x', storedAt: 0, data }));
}

describe('the replay’s preparer', () => {
  it('prepares on this thread until the worker is ready, then on the worker, the same batch the same way', async () => {
    const preparer = startPreparer(tenantId, PROJECTION_NAMES);
    try {
      const batch = records();
      const here = await preparer.prepare(batch);
      expect(preparer.counts).toEqual({ here: 1, worker: 0 });
      await preparer.ready;
      const onWorker = await preparer.prepare(batch);
      expect(preparer.counts).toEqual({ here: 1, worker: 1 });

      expect(onWorker).toEqual(here);
      expect(here.prepared.events).toBe(48);
      expect(here.unreadable).toEqual([
        { seq: 105, reason: expect.stringMatching(/JSON|json/) },
        { seq: 149, reason: expect.stringContaining(`, not ${tenantId}`) },
      ]);
    } finally {
      await preparer.close();
    }
  });

  it('keeps batches in the order they were sent across the hand-over to the worker', async () => {
    const preparer = startPreparer(tenantId, PROJECTION_NAMES);
    try {
      const batches = Array.from({ length: 6 }, () => records().slice(0, 8));
      const pending = batches.slice(0, 3).map((b) => preparer.prepare(b));
      await preparer.ready;
      pending.push(...batches.slice(3).map((b) => preparer.prepare(b)));
      const prepared = await Promise.all(pending);
      expect(preparer.counts).toEqual({ here: 3, worker: 3 });
      // each batch came back as its own (every batch's journeys have their own random ids)
      prepared.forEach((p, i) => {
        const batch = batches[i]!;
        const alone = prepareRecords(
          tenantId,
          PROJECTION_NAMES,
          batch.length,
          (j) => batch[j]!.data,
          (j) => batch[j]!.seq,
        );
        expect(p).toEqual(alone);
      });
    } finally {
      await preparer.close();
    }
  });
});
