import { randomUUID } from 'node:crypto';
import { ValidationError } from '@konstruct/core';
import { describe, expect, it } from 'vitest';
import { prepareProjection, tenantBatch } from '../src/prepare.ts';
import { journey, receipt } from './journeys.ts';

const tenantId = randomUUID();
const agentId = randomUUID();
const events = [
  ...[0, 1, 2, 3, 4].flatMap((index) =>
    journey({ tenantId, agentId, index, channel: index % 2 ? 'whatsapp' : 'slack' }),
  ),
  receipt(
    tenantId,
    '106540352242922',
    `wamid.OUT${tenantId.slice(0, 8)}1`,
    'read',
    Date.UTC(2026, 10, 26, 9, 1),
  ),
];

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
    expect(prepared.serialized.counts.messages).toBe(10);
  });

  it('refuses a tenant id that is not one', () => {
    expect(() => tenantBatch('acme')).toThrow(ValidationError);
  });
});
