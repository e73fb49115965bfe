import type { Publisher, PublishOptions, PublishResult } from '@konstruct/bus';
import type { KonstructEvent } from '@konstruct/contracts';

interface Pending {
  event: KonstructEvent;
  options: PublishOptions | undefined;
  resolve: (result: PublishResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Wraps a publisher so that the publishes of every request handled in one turn of the event loop reach the
 * socket in one write. The NATS client flushes in a microtask, and Node drains microtasks after each I/O
 * callback, so without this each webhook costs its own write syscall here and its own read in nats-server;
 * under load that per-message overhead, not the storing, was most of the CPU the gateway and nats-server spent.
 * Each publish is still acknowledged (or fails) on its own; the only cost is waiting for the end of the
 * current loop turn (`setImmediate`), microseconds.
 */
export function coalescingPublisher(publisher: Publisher): Publisher {
  let queue: Pending[] = [];
  let scheduled = false;

  function drain(): void {
    scheduled = false;
    const batch = queue;
    queue = [];
    // one synchronous pass: every publish below buffers its bytes before the client's flush microtask runs
    for (const p of batch) publisher.publish(p.event, p.options).then(p.resolve, p.reject);
  }

  return {
    publishRaw: publisher.publishRaw,
    publish(event, options) {
      return new Promise<PublishResult>((resolve, reject) => {
        queue.push({ event, options, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(drain);
        }
      });
    },
  };
}
