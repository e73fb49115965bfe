import type { Publisher, PublishResult } from '@konstruct/bus';
import type { KonstructEvent } from '@konstruct/contracts';
import { UnavailableError } from '@konstruct/core';
import { describe, expect, it } from 'vitest';
import { coalescingPublisher } from './coalesce.ts';

function event(id: string): KonstructEvent {
  return { id } as KonstructEvent;
}

describe('coalescingPublisher', () => {
  it('hands the publishes of one loop turn to the client together, and settles each on its own', async () => {
    const turns: number[] = [];
    let turn = 0;
    const inner: Publisher = {
      publishRaw: async () => ({ seq: 0, duplicate: false, subject: '' }),
      async publish(e): Promise<PublishResult> {
        turns.push(turn);
        if (e.id === 'b') throw new UnavailableError('not stored');
        return { seq: turns.length, duplicate: false, subject: e.id };
      },
    };
    const publisher = coalescingPublisher(inner);
    const results = Promise.allSettled([
      publisher.publish(event('a')),
      publisher.publish(event('b')),
      publisher.publish(event('c')),
    ]);
    // nothing reaches the client before the turn ends
    expect(turns).toEqual([]);
    setImmediate(() => {
      turn = 1;
    });
    const [a, b, c] = await results;
    expect(turns).toEqual([0, 0, 0]);
    expect(a).toMatchObject({ status: 'fulfilled', value: { subject: 'a' } });
    expect(b).toMatchObject({ status: 'rejected', reason: expect.any(UnavailableError) });
    expect(c).toMatchObject({ status: 'fulfilled', value: { subject: 'c' } });
  });
});
