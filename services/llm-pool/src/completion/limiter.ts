import { UnavailableError } from '@konstruct/core';

/** Gives back a slot taken from a {@link Limiter}; calling it twice is harmless. */
export type Release = () => void;

/** Bounds concurrent work: `max` at once, up to `maxQueue` waiting in arrival order, the rest refused. */
export interface Limiter {
  /**
   * Resolves with a release function once a slot is free. Rejects at once with an {@link UnavailableError}
   * when the queue is full, or when `signal` aborts while waiting (the waiter leaves the queue).
   */
  acquire(signal?: AbortSignal): Promise<Release>;
  /** Slots in use. */
  readonly inFlight: number;
  /** Callers waiting for a slot. */
  readonly queued: number;
}

/** Options of {@link createLimiter}. */
export interface LimiterOptions {
  max: number;
  maxQueue: number;
  /** What a refused caller is told to wait before retrying. @default 1000 */
  retryAfterMs?: number;
}

/**
 * Creates a first-come-first-served limiter. A released slot passes straight to the oldest waiter, so a
 * steady stream of new callers cannot starve the queue.
 */
export function createLimiter({ max, maxQueue, retryAfterMs = 1_000 }: LimiterOptions): Limiter {
  let inFlight = 0;
  const waiters: { grant: (release: Release) => void }[] = [];

  function slot(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiters.shift();
      if (next) next.grant(slot());
      else inFlight -= 1;
    };
  }

  return {
    get inFlight() {
      return inFlight;
    },
    get queued() {
      return waiters.length;
    },
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(new UnavailableError('the caller went away while waiting'));
      if (inFlight < max) {
        inFlight += 1;
        return Promise.resolve(slot());
      }
      if (waiters.length >= maxQueue) {
        return Promise.reject(
          new UnavailableError(
            `llm-pool is at its concurrency limit (${max} in flight, ${maxQueue} waiting); try again shortly`,
            { retryAfterMs, details: { reason: 'queue_full', inFlight: max, queued: waiters.length } },
          ),
        );
      }
      return new Promise<Release>((resolve, reject) => {
        const waiter = {
          grant(release: Release) {
            signal?.removeEventListener('abort', onAbort);
            resolve(release);
          },
        };
        function onAbort() {
          const index = waiters.indexOf(waiter);
          if (index >= 0) waiters.splice(index, 1);
          reject(new UnavailableError('the caller went away while waiting for a slot'));
        }
        signal?.addEventListener('abort', onAbort, { once: true });
        waiters.push(waiter);
      });
    },
  };
}
