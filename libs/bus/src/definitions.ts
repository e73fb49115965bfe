import { allTenantsSubject, consumers, type Topology, typeFilter } from '@konstruct/names';

/** A durable pull consumer, defined once here and created idempotently by {@link ensureConsumer}. */
export interface ConsumerDefinition {
  /** Durable name, one per service. */
  name: string;
  /** Which stream it reads. */
  stream: 'events' | 'ops';
  /** The one subject filter it reads (nats-server 2.9 has no multi-filter consumers). */
  filterSubject: string;
  /** How long the server waits for an ack before redelivering. Long handlers call `working()`. */
  ackWaitMs: number;
  /** Deliveries before a message is dead-lettered. */
  maxDeliver: number;
  /** Delay before each redelivery, by attempt; the last one repeats. */
  backoffMs: number[];
  /** How many messages one process handles at once. */
  concurrency: number;
}

const retry = { ackWaitMs: 30_000, maxDeliver: 5, backoffMs: [1_000, 5_000, 30_000, 120_000] };

/**
 * Every durable consumer of the platform. Subjects are built for the given topology, so tests that use a
 * subject prefix get consumers of their own.
 */
export function consumerDefinitions(topology: Topology): Record<keyof typeof consumers, ConsumerDefinition> {
  const only = (type: string) => typeFilter(topology, type)[1]!.replace(/\.>$/, '.>');
  return {
    router: {
      name: consumers.router,
      stream: 'events',
      // message.received always carries its channel token
      filterSubject: only('message.received'),
      ...retry,
      concurrency: 32,
    },
    orchestrator: {
      name: consumers.orchestrator,
      stream: 'events',
      filterSubject: typeFilter(topology, 'message.routed')[0]!,
      ...retry,
      // an LLM call is long: the handler keeps the message alive with working()
      ackWaitMs: 30_000,
      concurrency: 16,
    },
    delivery: {
      name: consumers.delivery,
      stream: 'events',
      filterSubject: typeFilter(topology, 'agent.replied')[0]!,
      ...retry,
      concurrency: 16,
    },
    projections: {
      name: consumers.projections,
      stream: 'events',
      filterSubject: allTenantsSubject(topology),
      ...retry,
      concurrency: 1,
    },
  };
}
