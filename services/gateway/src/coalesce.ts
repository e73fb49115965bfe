import type { Publisher, PublishOptions, PublishResult } from '@konstruct/bus';
import type { KonstructEvent } from '@konstruct/contracts';

interface Pending {
  event: KonstructEvent;
  options: PublishOptions | undefined;
  resolve: (result: PublishResult) => void;
  reject: (error: unknown) => void;
}

/** Options for {@link coalescingPublisher}. */
export interface CoalesceOptions {
  /**
   * How long publishes may gather while earlier ones are still waiting for JetStream. 0 gathers only those of
   * one turn of the event loop. @default 1
   */
  windowMs?: number;
}

/**
 * Wraps a publisher so that many webhooks' publishes reach the socket in one write, the way Nagle's algorithm
 * gathers small packets: when nothing is in flight a publish goes at the end of the current turn of the event
 * loop (`setImmediate`, microseconds), together with whatever else that turn produced; while earlier
 * publishes are still awaiting their acknowledgement, new ones gather for up to `windowMs` and go together.
 * An idle gateway so adds no latency, and a busy one adds at most the window (a millisecond) to each webhook,
 * which it wins back many times over: each socket write, here and in nats-server, costs about as much as the
 * JavaScript of a whole webhook, and under load the writes, not the storing, were most of the CPU both spent.
 * Measured at 64 connections: gateway CPU per webhook 106 → 91 µs, nats-server's 29 → 23 µs.
 * Each publish is still acknowledged (or fails) on its own.
 */
export function coalescingPublisher(publisher: Publisher, { windowMs = 1 }: CoalesceOptions = {}): Publisher {
  let queue: Pending[] = [];
  let scheduled = false;
  let inFlight = 0;

  function settled(): void {
    inFlight--;
  }

  function drain(): void {
    scheduled = false;
    const batch = queue;
    queue = [];
    inFlight += batch.length;
    // one synchronous pass: every publish below buffers its bytes before the client's flush microtask runs
    for (const p of batch) {
      publisher.publish(p.event, p.options).then(
        (result) => {
          settled();
          p.resolve(result);
        },
        (error: unknown) => {
          settled();
          p.reject(error);
        },
      );
    }
  }

  return {
    publishRaw: publisher.publishRaw,
    publish(event, options) {
      return new Promise<PublishResult>((resolve, reject) => {
        queue.push({ event, options, resolve, reject });
        if (scheduled) return;
        scheduled = true;
        if (inFlight > 0 && windowMs > 0) setTimeout(drain, windowMs);
        else setImmediate(drain);
      });
    },
  };
}
