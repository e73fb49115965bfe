import { UnavailableError } from '@konstruct/core';
import { describe, expect, it } from 'vitest';
import { createLimiter, type Release } from './limiter.ts';

describe('concurrency limiter', () => {
  it('lets max callers in and makes the next one wait until a slot is released', async () => {
    const limiter = createLimiter({ max: 2, maxQueue: 5 });
    const first = await limiter.acquire();
    await limiter.acquire();
    let third: Release | undefined;
    const waiting = limiter.acquire().then((release) => {
      third = release;
    });
    await Promise.resolve();
    expect(third).toBeUndefined();
    expect({ inFlight: limiter.inFlight, queued: limiter.queued }).toEqual({ inFlight: 2, queued: 1 });

    first();
    await waiting;
    expect(third).toBeTypeOf('function');
    expect({ inFlight: limiter.inFlight, queued: limiter.queued }).toEqual({ inFlight: 2, queued: 0 });
  });

  it('serves waiters in arrival order', async () => {
    const limiter = createLimiter({ max: 1, maxQueue: 5 });
    const release = await limiter.acquire();
    const order: string[] = [];
    const a = limiter.acquire().then((r) => {
      order.push('a');
      r();
    });
    const b = limiter.acquire().then((r) => {
      order.push('b');
      r();
    });
    release();
    await Promise.all([a, b]);
    expect(order).toEqual(['a', 'b']);
    expect(limiter.inFlight).toBe(0);
  });

  it('refuses at once when the queue is full, with a retry hint', async () => {
    const limiter = createLimiter({ max: 1, maxQueue: 1, retryAfterMs: 2_000 });
    await limiter.acquire();
    void limiter.acquire();
    const refused = await limiter.acquire().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UnavailableError);
    expect((refused as UnavailableError).retryAfterMs).toBe(2_000);
  });

  it('drops a waiter whose caller went away, so its slot goes to the next one', async () => {
    const limiter = createLimiter({ max: 1, maxQueue: 5 });
    const release = await limiter.acquire();
    const gone = new AbortController();
    const abandoned = limiter.acquire(gone.signal).catch((error: unknown) => error);
    const next = limiter.acquire();
    gone.abort();
    expect(await abandoned).toBeInstanceOf(UnavailableError);
    expect(limiter.queued).toBe(1);
    release();
    (await next)();
    expect(limiter.inFlight).toBe(0);
  });

  it('ignores a second release of the same slot', async () => {
    const limiter = createLimiter({ max: 1, maxQueue: 1 });
    const release = await limiter.acquire();
    release();
    release();
    expect(limiter.inFlight).toBe(0);
    await limiter.acquire();
    expect(limiter.inFlight).toBe(1);
  });
});
