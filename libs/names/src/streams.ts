import type { SubjectSpace } from './subjects.ts';

/** The names of the two streams: tenant facts and ops facts. */
export interface StreamNames {
  /** Holds `tenant.>`. @default 'KONSTRUCT' */
  events: string;
  /** Holds `ops.>`. @default 'KONSTRUCT_OPS' */
  ops: string;
}

/** The durable consumers, one per service (and one per projection family). */
export const consumers = {
  router: 'router',
  orchestrator: 'orchestrator',
  delivery: 'delivery',
  projections: 'projections',
} as const;

/** A durable consumer's name. */
export type ConsumerName = (typeof consumers)[keyof typeof consumers];

/** Everything a component needs to find its subjects and streams. */
export interface Topology extends SubjectSpace {
  streams: StreamNames;
}

/** The production topology, or one with the given overrides (tests). */
export function topology(overrides: Partial<{ prefix: string; events: string; ops: string }> = {}): Topology {
  return {
    prefix: overrides.prefix ?? '',
    streams: { events: overrides.events ?? 'KONSTRUCT', ops: overrides.ops ?? 'KONSTRUCT_OPS' },
  };
}
