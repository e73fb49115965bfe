import {
  type ConsumerDefinition,
  deadLetterAndTerm,
  type Publisher,
  type Settlement,
  settleFailure,
} from '@konstruct/bus';
import { decodeEvent, type KonstructEvent } from '@konstruct/contracts';
import {
  type Clock,
  describeError,
  type IdGenerator,
  type Logger,
  randomIds,
  systemClock,
  UnavailableError,
  ValidationError,
} from '@konstruct/core';
import type { Database } from '@konstruct/db';
import { parseTenantSubject, type Topology } from '@konstruct/names';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { ProjectionName } from './plan.ts';
import { groupByTenant } from './prepare.ts';
import { projectTenantEvents } from './project.ts';

/** Options for {@link startProjectionConsumer}. */
export interface ProjectionConsumerOptions {
  js: JetStreamClient;
  orm: Database;
  topology: Topology;
  /** The durable consumer: `consumerDefinitions(topology).projections`, on `tenant.>`. */
  definition: ConsumerDefinition;
  /** Where dead letters go. */
  publisher: Publisher;
  logger: Logger;
  /** Most events projected in one go. @default 500 */
  batchSize?: number;
  /**
   * How long a batch waits for more events after its first one. Under load batches fill at once; when
   * quiet, an event waits at most this long. @default 5
   */
  lingerMs?: number;
  /** How many tenants of one batch are written at once, each in its own transaction. @default 4 */
  tenantConcurrency?: number;
  /** @default every read model */
  projections?: readonly ProjectionName[];
  clock?: Clock;
  ids?: IdGenerator;
}

/** A running projection consumer. */
export interface RunningProjections {
  /** Stops pulling, finishes the batch in hand (projected and acked), and resolves. */
  stop(): Promise<void>;
  /** Resolves when the consumer has stopped, for whatever reason. */
  readonly closed: Promise<void>;
}

/** One fetched message and the event read from it. */
interface Item {
  msg: JsMsg;
  event: KonstructEvent;
}

const LINGER = Symbol('linger');

/**
 * Starts the live projections: pulls events from the durable consumer in batches, projects each batch (one
 * transaction per tenant), and acks a tenant's messages only after its transaction committed. A tenant whose
 * batch fails is retried one event per transaction, so a single poisoned event is isolated instead of holding
 * back the rest; each failing event is then settled like `startConsumer` does: nak with backoff when retrying
 * can help, dead letter (then `term`) when it cannot or retries ran out. A payload that is not a Konstruct
 * event, or an event on another tenant's subject, is dead-lettered at once. Nothing is acked or termed before
 * its dead letter is stored.
 */
export async function startProjectionConsumer(
  options: ProjectionConsumerOptions,
): Promise<RunningProjections> {
  const {
    js,
    orm,
    topology,
    definition,
    publisher,
    batchSize = 500,
    lingerMs = 5,
    tenantConcurrency = 4,
  } = options;
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const selected = { ...(options.projections ? { projections: options.projections } : {}) };
  const log = options.logger.child({ consumer: definition.name });

  const consumer = await js.consumers.get(topology.streams[definition.stream], definition.name);
  const messages = await consumer.consume({ max_messages: batchSize * 2 });

  const deadLetterContext = { topology, definition, publisher, clock, ids };

  async function settle(msg: JsMsg, settlement: Settlement, event?: KonstructEvent): Promise<void> {
    if (settlement.kind === 'ack') return msg.ack();
    if (settlement.kind === 'nak') return msg.nak(settlement.delayMs);
    await deadLetterAndTerm(deadLetterContext, msg, settlement.reason, event, log);
  }

  /** Reads each message as an event of the tenant its subject names; dead-letters those that are not. */
  async function read(batch: readonly JsMsg[]): Promise<Item[]> {
    const items: Item[] = [];
    for (const msg of batch) {
      try {
        const event = decodeEvent(msg.data);
        const onSubject = parseTenantSubject(topology, msg.subject)?.tenantId;
        if (!event.tenantid || event.tenantid !== onSubject) {
          // a tenant's subject is the unit of permission: an event claiming another tenant is refused
          throw new ValidationError(
            `event of tenant ${event.tenantid ?? '(none)'} on subject ${msg.subject} of tenant ${onSubject ?? '(none)'}`,
          );
        }
        items.push({ msg, event });
      } catch (error) {
        const reason = describeError(error);
        log.warn({ subject: msg.subject, seq: msg.seq, reason }, 'unreadable event dead-lettered');
        await settle(msg, { kind: 'deadletter', reason });
      }
    }
    return items;
  }

  async function fail(items: readonly Item[], error: unknown): Promise<void> {
    for (const { msg, event } of items) {
      const settlement = settleFailure(error, msg.info.deliveryCount, definition);
      log.warn(
        {
          tenantId: event.tenantid,
          eventId: event.id,
          correlationId: event.correlationid,
          err: error,
          deliveryCount: msg.info.deliveryCount,
          settlement: settlement.kind,
        },
        'event not projected',
      );
      await settle(msg, settlement, event);
    }
  }

  async function projectTenant(tenantId: string, items: readonly Item[]): Promise<void> {
    try {
      await projectTenantEvents(
        orm,
        tenantId,
        items.map((i) => i.event),
        selected,
      );
      for (const { msg } of items) msg.ack();
      return;
    } catch (error) {
      // the database is away: every event of the batch would fail alike, retry them all later
      if (error instanceof UnavailableError || items.length === 1) return fail(items, error);
      log.warn({ tenantId, err: error, events: items.length }, 'tenant batch failed; isolating events');
    }
    for (const item of items) {
      try {
        await projectTenantEvents(orm, tenantId, [item.event], selected);
        item.msg.ack();
      } catch (error) {
        await fail([item], error);
      }
    }
  }

  /** Projects a read batch: a few tenants at a time, each in its own transaction. */
  async function project(items: readonly Item[], started: number): Promise<void> {
    try {
      const groups = [...groupByTenant(items)];
      // a few workers take tenants off one queue: parallel transactions, without emptying the pool
      const worker = async () => {
        for (let group = groups.shift(); group; group = groups.shift()) await projectTenant(...group);
      };
      await Promise.all(Array.from({ length: Math.min(tenantConcurrency, groups.length) }, worker));
      log.debug({ messages: items.length, ms: Math.round(performance.now() - started) }, 'batch projected');
    } catch (error) {
      // settling failed too (NATS away): the messages are redelivered after their ack wait
      log.error({ err: error, messages: items.length }, 'batch handling crashed');
    }
  }

  /** Collects the next batch: the first message, then whatever else arrives within the linger. */
  async function collect(pending: Promise<IteratorResult<JsMsg>>) {
    const first = await pending;
    if (first.done) return { batch: [], next: pending, done: true };
    const batch: JsMsg[] = [first.value];
    let next = iterator.next();
    let timer: NodeJS.Timeout | undefined;
    const linger = new Promise<typeof LINGER>((resolve) => {
      timer = setTimeout(() => resolve(LINGER), lingerMs);
    });
    let done = false;
    while (batch.length < batchSize) {
      const got = await Promise.race([next, linger]);
      if (got === LINGER) break;
      if (got.done) {
        done = true;
        break;
      }
      batch.push(got.value);
      next = iterator.next();
    }
    clearTimeout(timer);
    return { batch, next, done };
  }

  const iterator = messages[Symbol.asyncIterator]();
  const loop = (async () => {
    // Two stages: while one batch is in the database, the next is collected and parsed (parsing is CPU,
    // the database work is waiting), so neither waits for the other.
    let projecting: Promise<void> = Promise.resolve();
    let next = iterator.next();
    for (;;) {
      const { batch, next: following, done } = await collect(next);
      next = following;
      if (batch.length > 0) {
        const started = performance.now();
        const items = await read(batch).catch((error: unknown) => {
          log.error({ err: error, messages: batch.length }, 'batch reading crashed');
          return [];
        });
        await projecting;
        projecting = project(items, started);
      }
      if (done) break;
    }
    await projecting;
  })();

  let stopping: Promise<void> | undefined;
  return {
    closed: loop,
    stop() {
      stopping ??= (async () => {
        await messages.close();
        await loop;
        log.info('projection consumer stopped');
      })();
      return stopping;
    },
  };
}
