import { randomUUID } from 'node:crypto';

/** The clock, injected so domain decisions are deterministic under test. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** Generates ids, injected for the same reason as {@link Clock}. */
export interface IdGenerator {
  /** A new UUID. */
  uuid(): string;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Random v4 UUIDs from node:crypto. */
export const randomIds: IdGenerator = { uuid: () => randomUUID() };

/** A clock that only moves when told to; for tests. */
export function manualClock(
  startMs = Date.UTC(2026, 0, 1),
): Clock & { advance(ms: number): void; set(ms: number): void } {
  let current = startMs;
  return {
    now: () => current,
    advance(ms: number) {
      current += ms;
    },
    set(ms: number) {
      current = ms;
    },
  };
}

/** Resolves after `ms` milliseconds, or early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
