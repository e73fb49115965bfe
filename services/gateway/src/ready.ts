import type { Bus } from '@konstruct/bus';
import type { Topology } from '@konstruct/names';
import type { ReadyReport } from './app.ts';

/** `/readyz` against the real backbone: the NATS connection is open and both streams exist. */
export function natsReadiness(bus: Bus, topology: Topology): () => Promise<ReadyReport> {
  return async () => {
    const connected = !bus.nc.isClosed() && !bus.nc.isDraining();
    const checks: Record<string, boolean | string> = { nats: connected };
    for (const stream of [topology.streams.events, topology.streams.ops]) {
      checks[`stream:${stream}`] = connected
        ? await bus.jsm.streams.info(stream).then(
            () => true,
            (error: Error) => error.message,
          )
        : false;
    }
    return { ready: Object.values(checks).every((v) => v === true), checks };
  };
}
