import { allOpsSubject, allTenantsSubject, type Topology } from '@konstruct/names';
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { ConsumerDefinition } from './definitions.ts';

// JetStream's error code for "stream not found" and "consumer not found".
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

/** Options for {@link ensureStreams}. */
export interface StreamOptions {
  /** How long the stream remembers message ids to drop duplicates. */
  duplicateWindowMs: number;
  /** How long events are kept; 0 keeps them forever. @default 0 */
  maxAgeMs?: number;
}

/** The stream definitions of a topology: tenant facts and ops facts, both on file storage. */
export function streamConfigs(
  topology: Topology,
  { duplicateWindowMs, maxAgeMs = 0 }: StreamOptions,
): (Partial<StreamConfig> & { name: string })[] {
  const common = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(duplicateWindowMs),
    max_age: nanos(maxAgeMs),
    num_replicas: 1,
  };
  return [
    { name: topology.streams.events, subjects: [allTenantsSubject(topology)], ...common },
    { name: topology.streams.ops, subjects: [allOpsSubject(topology)], ...common },
  ];
}

/**
 * Creates the streams, or updates them when their definition changed. Safe to call from every service at
 * start-up and concurrently.
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  topology: Topology,
  options: StreamOptions,
): Promise<void> {
  for (const config of streamConfigs(topology, options)) {
    const name = config.name!;
    try {
      const info = await jsm.streams.info(name);
      const current = info.config;
      const drifted =
        JSON.stringify(current.subjects) !== JSON.stringify(config.subjects) ||
        current.duplicate_window !== config.duplicate_window ||
        current.max_age !== config.max_age;
      if (drifted) await jsm.streams.update(name, config);
    } catch (error) {
      if (!isApiError(error, STREAM_NOT_FOUND)) throw error;
      try {
        await jsm.streams.add(config);
      } catch (addError) {
        // another service created it between our info and add: fine
        if (!(addError instanceof JetStreamApiError) || !/already in use/i.test(addError.message)) {
          const info = await jsm.streams.info(name).catch(() => undefined);
          if (!info) throw addError;
        }
      }
    }
  }
}

/** The server-side consumer config of a definition. */
export function consumerConfig(definition: ConsumerDefinition): Partial<ConsumerConfig> {
  return {
    durable_name: definition.name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: definition.filterSubject,
    ack_wait: nanos(definition.ackWaitMs),
    max_deliver: definition.maxDeliver,
    // Server-side redelivery after a missed ack (a crashed process) follows our nak schedule, but never sooner
    // than the ack wait: with a backoff the server uses its entries as the ack wait of each delivery, and a
    // shorter one would redeliver a message whose handler is still working.
    backoff: definition.backoffMs
      .slice(0, Math.max(0, definition.maxDeliver - 1))
      .map((ms) => nanos(Math.max(ms, definition.ackWaitMs))),
    max_ack_pending: Math.max(1_000, definition.concurrency * 4),
  };
}

/** Creates a durable consumer, or updates it when its definition changed. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  topology: Topology,
  definition: ConsumerDefinition,
): Promise<void> {
  const stream = topology.streams[definition.stream];
  const config = consumerConfig(definition);
  try {
    const info = await jsm.consumers.info(stream, definition.name);
    const c = info.config;
    const drifted =
      c.filter_subject !== config.filter_subject ||
      c.ack_wait !== config.ack_wait ||
      c.max_deliver !== config.max_deliver ||
      JSON.stringify(c.backoff ?? []) !== JSON.stringify(config.backoff ?? []) ||
      c.max_ack_pending !== config.max_ack_pending;
    if (drifted) {
      const { durable_name: _name, deliver_policy: _deliver, ack_policy: _ack, ...updatable } = config;
      await jsm.consumers.update(stream, definition.name, updatable);
    }
  } catch (error) {
    if (!isApiError(error, CONSUMER_NOT_FOUND)) throw error;
    await jsm.consumers.add(stream, config);
  }
}

/** True when `error` is a JetStream API error with the given error code. */
export function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}
