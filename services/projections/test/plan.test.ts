import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BatchPlan, planBatch } from '../src/index.ts';
import { journey, mixedBatch } from './journeys.ts';

const tenantId = randomUUID();
const agentId = randomUUID();
const events = mixedBatch(tenantId, agentId);

/** A plan with its rows in key order, so two plans compare regardless of the order rows were first seen. */
function canonical(plan: BatchPlan): Record<string, unknown> {
  const sort = (rows: Record<string, unknown>[]) =>
    [...rows].map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();
  return {
    conversations: sort(plan.conversations),
    messages: sort(plan.messages),
    deliveries: sort(plan.deliveries),
    receipts: sort(plan.receipts),
    usage: sort(plan.usage),
    touchedConversations: [...plan.touchedConversations].sort(),
  };
}

describe('planBatch', () => {
  it('plans the same rows for any order and any duplication of the same events', () => {
    const expected = canonical(planBatch(events));
    fc.assert(
      fc.property(
        fc.shuffledSubarray(events, { minLength: events.length }),
        fc.array(fc.nat(events.length - 1)),
        (order, repeats) => {
          const batch = [...order, ...repeats.map((i) => events[i]!)];
          expect(canonical(planBatch(batch))).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("gives each conversation row the batch's messages in it, by direction, each message once", () => {
    // journeys 0 and 3 share a thread; journey 4 stops before it is answered
    const batch = [
      ...journey({ tenantId, agentId, index: 0 }),
      ...journey({ tenantId, agentId, index: 3 }),
      ...journey({ tenantId, agentId, index: 4, until: 'routed' }),
    ];
    const counts = (plan: BatchPlan) =>
      plan.conversations.map((c) => [c.threadId, c.messagesIn, c.messagesOut]).sort();
    const expected = [
      ['1700000000.000000', 2, 2],
      ['1700000000.000001', 1, 0],
    ];
    expect(counts(planBatch(batch))).toEqual(expected);
    // a redelivered event in the same batch does not count its message again
    expect(counts(planBatch([...batch, ...batch.slice(0, 5)]))).toEqual(expected);
  });

  it('writes only the selected read models', () => {
    const plan = planBatch(events, ['usage']);
    expect(plan.usage).toHaveLength(4);
    expect([plan.messages, plan.conversations, plan.deliveries, plan.receipts]).toEqual([[], [], [], []]);
  });

  it('keeps the furthest receipt: "read" stands over a later-projected "sent"', () => {
    const receipts = planBatch(events).receipts.map((r) => [r.platformMessageId, r.status]);
    expect(receipts).toContainEqual([`wamid.OUT${tenantId.slice(0, 8)}1`, 'read']);
  });
});
