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

  it('while a publish awaits its acknowledgement, new ones gather for the window; when idle, none waits', async () => {
    const reached: { id: string; at: number }[] = [];
    const held: (() => void)[] = [];
    const inner: Publisher = {
      publishRaw: async () => ({ seq: 0, duplicate: false, subject: '' }),
      publish(e): Promise<PublishResult> {
        reached.push({ id: e.id, at: performance.now() });
        return new Promise((resolve) =>
          held.push(() => resolve({ seq: 1, duplicate: false, subject: e.id })),
        );
      },
    };
    const publisher = coalescingPublisher(inner, { windowMs: 40 });
    const start = performance.now();
    const first = publisher.publish(event('idle'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(reached.map((r) => r.id)).toEqual(['idle']); // nothing in flight: it went at once
    // 'idle' is in flight: these two gather and reach the client together after the window
    const later = [publisher.publish(event('x')), publisher.publish(event('y'))];
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(reached.map((r) => r.id)).toEqual(['idle']);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(reached.map((r) => r.id)).toEqual(['idle', 'x', 'y']);
    expect(reached[1]!.at - start).toBeGreaterThanOrEqual(35);
    expect(reached[2]!.at - reached[1]!.at).toBeLessThan(1); // together, in one pass
    for (const release of held) release();
    await Promise.all([first, ...later]);
    // all settled, so idle again: the next one does not wait
    const t = performance.now();
    const next = publisher.publish(event('again'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(reached.at(-1)!.id).toBe('again');
    expect(reached.at(-1)!.at - t).toBeLessThan(20);
    for (const release of held) release();
    await next;
  });
});
