import { randomUUID } from 'node:crypto';
import { sleep, UnavailableError } from '@konstruct/core';
import type { Redis } from 'ioredis';

// Extends or deletes the lease only while it is still ours: a lease that expired and was taken by another
// process must not be extended or released by the one that lost it.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Options for {@link withLease}. */
export interface LeaseOptions {
  /** How long the lease outlives a holder that died; it is renewed while the work runs. @default 15_000 */
  ttlMs?: number;
  /** How long to wait for a lease another handler holds before giving up. @default 0 */
  waitMs?: number;
  /** Stops waiting (the consumer is stopping). */
  signal?: AbortSignal;
}

const POLL_MS = 100;

/**
 * Runs `work` while holding a short Redis lease on `key`, renewed every third of its TTL, and released at
 * the end. JetStream can hand the same event to two handlers at once (a redrive, a second copy, an ack wait
 * that ran out); the second waits up to `waitMs` for the lease — the first finishes and releases it, or dies
 * and it lapses — and then runs `work`, which should first look for the outcome the first one stored. When
 * the wait runs out it fails with an {@link UnavailableError} whose `retryAfterMs` is the lease's remaining
 * time, so the runner brings the event back later.
 */
export async function withLease<T>(
  redis: Redis,
  key: string,
  work: () => Promise<T>,
  { ttlMs = 15_000, waitMs = 0, signal }: LeaseOptions = {},
): Promise<T> {
  const token = randomUUID();
  const deadline = Date.now() + waitMs;
  while ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') {
    if (Date.now() >= deadline || signal?.aborted) {
      const left = await redis.pttl(key);
      throw new UnavailableError('this event is being handled by another delivery right now', {
        retryAfterMs: Math.max(250, left),
      });
    }
    await sleep(POLL_MS, signal);
  }
  const renew = setInterval(
    () => {
      redis.eval(RENEW, 1, key, token, String(ttlMs)).catch(() => undefined);
    },
    Math.max(100, Math.floor(ttlMs / 3)),
  );
  try {
    return await work();
  } finally {
    clearInterval(renew);
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  }
}
