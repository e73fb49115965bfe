import { randomUUID } from 'node:crypto';
import { ValidationError } from '@konstruct/core';
import { describe, expect, it } from 'vitest';
import { prepareProjection, tenantBatch } from '../src/prepare.ts';
import { journey, mixedBatch } from './journeys.ts';

const tenantId = randomUUID();
const agentId = randomUUID();
const events = mixedBatch(tenantId, agentId);

describe('tenantBatch (replay prepares each event as it decodes it)', () => {
  it('prepares the same statement parameters, one event at a time, as the whole batch at once', () => {
    const batch = tenantBatch(tenantId, {
      projections: ['messages', 'conversations', 'deliveries', 'usage'],
    });
    for (const event of events) batch.add(event);
    const whole = prepareProjection(events, {
      projections: ['messages', 'conversations', 'deliveries', 'usage'],
    });
    expect(whole.tenants).toHaveLength(1);
    expect(batch.finish()).toEqual(whole.tenants[0]);
  });

  it("refuses another tenant's event and keeps the rest", () => {
    const batch = tenantBatch(tenantId);
    const [first, ...rest] = events;
    batch.add(first!);
    const stranger = journey({ tenantId: randomUUID(), agentId, index: 9 })[0]!;
    expect(() => batch.add(stranger)).toThrow(ValidationError);
    expect(() => batch.add(stranger)).toThrow(`belongs to tenant ${stranger.tenantid}, not ${tenantId}`);
    for (const event of rest) batch.add(event);
    const prepared = batch.finish();
    expect(prepared.events).toBe(events.length);
    // four journeys: each person's message and its reply
    expect(prepared.serialized.counts.messages).toBe(8);
  });

  it('refuses a tenant id that is not one', () => {
    expect(() => tenantBatch('acme')).toThrow(ValidationError);
  });
});
