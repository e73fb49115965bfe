import { decodeEvent, type EventType, type KonstructEvent } from '@konstruct/contracts';
import {
  AppError,
  type Clock,
  describeError,
  type IdGenerator,
  type Logger,
  randomIds,
  systemClock,
  UnavailableError,
} from '@konstruct/core';
import type { Topology } from '@konstruct/names';
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { deadLetterAndTerm } from './deadletter.ts';
import type { ConsumerDefinition } from './definitions.ts';
import type { Publisher } from './publish.ts';

/**
 * The header a dead-letter redrive carries: the name of the consumer that dead-lettered the message. Only that
 * consumer handles the redriven copy; the others ack it unseen, because they handled the original.
 */
export const REDRIVE_CONSUMER_HEADER = 'Konstruct-Redrive-Consumer';

/** What a handler knows about the message it handles besides the event. */
export interface HandlerContext {
  /** A logger bound to the event's tenant, event and correlation ids. */
  logger: Logger;
  /** 1 on first delivery. */
  deliveryCount: number;
  /** The stream sequence. */
  streamSequence: number;
  subject: string;
  /** Aborted when the runner is stopping; long handlers may give up and let the message be redelivered. */
  signal: AbortSignal;
}

/** Handles one typed event. Resolving acks it; throwing maps to nak, term or dead letter by error class. */
export type EventHandler = (event: KonstructEvent, context: HandlerContext) => Promise<void>;

/** Options for {@link startConsumer}. */
export interface ConsumerRunnerOptions {
  js: JetStreamClient;
  topology: Topology;
  definition: ConsumerDefinition;
  handler: EventHandler;
  /** Where dead letters go. */
  publisher: Publisher;
  logger: Logger;
  /** Event types this handler wants; others are acked and skipped. @default every type */
  types?: readonly EventType[];
  /**
   * Events with the same key are handled one after another, in the order the stream delivered them; other
   * events still run side by side. E.g. the router keys by thread, so a follow-up is never judged before the
   * mention that engages its thread. @default no ordering
   */
  orderingKey?: (event: KonstructEvent) => string | undefined;
  /** Overrides the definition's concurrency. */
  concurrency?: number;
  clock?: Clock;
  ids?: IdGenerator;
}

/** A running consumer. */
export interface RunningConsumer {
  /** Stops pulling, waits for in-flight handlers to finish, and resolves. */
  stop(): Promise<void>;
  /** Resolves when the consumer has stopped, for whatever reason. */
  readonly closed: Promise<void>;
}

/** How the runner settles a message after its handler. */
export type Settlement =
  | { kind: 'ack' }
  | { kind: 'nak'; delayMs: number }
  | { kind: 'deadletter'; reason: string };

/**
 * Decides what happens to a message whose handler threw: errors that retrying cannot fix (validation,
 * not-found, conflict: any {@link AppError} but {@link UnavailableError}) are dead-lettered at once;
 * anything else is retried with the definition's backoff until `maxDeliver` is exhausted, then
 * dead-lettered with the last reason. Pure, so it is tested without a server.
 */
export function settleFailure(
  error: unknown,
  deliveryCount: number,
  definition: ConsumerDefinition,
): Settlement {
  const reason = describeError(error);
  const permanent = error instanceof AppError && !(error instanceof UnavailableError);
  if (permanent) return { kind: 'deadletter', reason };
  if (deliveryCount >= definition.maxDeliver) {
    return { kind: 'deadletter', reason: `gave up after ${deliveryCount} deliveries: ${reason}` };
  }
  const schedule = definition.backoffMs;
  const fromError = error instanceof UnavailableError ? error.retryAfterMs : undefined;
  const delayMs = fromError ?? schedule[Math.min(deliveryCount - 1, schedule.length - 1)] ?? 1_000;
  return { kind: 'nak', delayMs };
}

/**
 * Starts a durable pull consumer: parses each message as a Konstruct event, hands it to `handler` with at
 * most `concurrency` in flight, keeps long handlers alive with `working()`, and settles each message:
 * ack on success, nak with backoff on retryable failure, and a copy on `ops.deadletter.<consumer>` (then
 * `term`) for a payload that is not an event, a permanent error, or exhausted retries. A message is never
 * acked or termed before its dead letter is stored.
 */
export async function startConsumer(options: ConsumerRunnerOptions): Promise<RunningConsumer> {
  const { js, topology, definition, handler, publisher, logger, types } = options;
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const concurrency = options.concurrency ?? definition.concurrency;
  const wanted = types ? new Set<string>(types) : undefined;
  const log = logger.child({ consumer: definition.name });

  const consumer = await js.consumers.get(topology.streams[definition.stream], definition.name);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: Math.max(concurrency * 2, 8) });
  const abort = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let slotFreed: (() => void) | undefined;

  const deadLetterContext = { topology, definition, publisher, clock, ids };

  async function handle(msg: JsMsg): Promise<void> {
    // a redriven dead letter is meant for the consumer that gave up on it; every other consumer of the subject
    // handled the original already, and must not act twice
    const redriveFor = msg.headers?.get(REDRIVE_CONSUMER_HEADER);
    if (redriveFor && redriveFor !== definition.name) {
      log.debug({ seq: msg.seq, redriveFor }, 'redrive for another consumer; acked');
      msg.ack();
      return;
    }
    let event: KonstructEvent;
    try {
      event = decodeEvent(msg.data);
    } catch (error) {
      const reason = describeError(error);
      log.warn({ subject: msg.subject, seq: msg.seq, reason }, 'unreadable event dead-lettered');
      await settle(msg, { kind: 'deadletter', reason });
      return;
    }
    const eventLog = log.child({
      tenantId: event.tenantid,
      eventId: event.id,
      correlationId: event.correlationid,
    });
    if (wanted && !wanted.has(event.type)) {
      eventLog.debug({ type: event.type }, 'event type not handled here; acked');
      msg.ack();
      return;
    }
    // keep the message ours while a long handler works (or waits its turn): half the ack wait leaves room for
    // a slow server
    const keepAlive = setInterval(() => msg.working(), Math.max(250, definition.ackWaitMs / 2));
    // decoding above is synchronous, so turns are taken in delivery order
    const turn = takeTurn(options.orderingKey?.(event));
    try {
      await turn.ready;
      await handler(event, {
        logger: eventLog,
        deliveryCount: msg.info.deliveryCount,
        streamSequence: msg.seq,
        subject: msg.subject,
        signal: abort.signal,
      });
      clearInterval(keepAlive);
      await settle(msg, { kind: 'ack' }, event);
    } catch (error) {
      clearInterval(keepAlive);
      const settlement = settleFailure(error, msg.info.deliveryCount, definition);
      eventLog.warn(
        { err: error, deliveryCount: msg.info.deliveryCount, settlement: settlement.kind },
        'handler failed',
      );
      await settle(msg, settlement, event);
    } finally {
      turn.done();
    }
  }

  /** The last turn taken per ordering key; a key is forgotten when its last turn is done. */
  const turns = new Map<string, Promise<void>>();

  /** Waits for the previous event of the same key to be settled; `done()` lets the next one go. */
  function takeTurn(key: string | undefined): { ready: Promise<void>; done: () => void } {
    if (key === undefined) return { ready: Promise.resolve(), done: () => {} };
    const previous = turns.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    turns.set(key, mine);
    return {
      ready: previous,
      done() {
        done();
        if (turns.get(key) === mine) turns.delete(key);
      },
    };
  }

  async function settle(msg: JsMsg, settlement: Settlement, event?: KonstructEvent): Promise<void> {
    switch (settlement.kind) {
      case 'ack':
        // wait for the server to confirm: stop() then means every handled message is acked, and an ack lost
        // on the way is logged (the message comes back, and idempotent handlers make that harmless)
        await msg
          .ackAck()
          .catch((error: unknown) => log.warn({ err: error, seq: msg.seq }, 'ack not confirmed'));
        return;
      case 'nak':
        msg.nak(settlement.delayMs);
        return;
      case 'deadletter':
        await deadLetterAndTerm(deadLetterContext, msg, settlement.reason, event, log);
    }
  }

  const loop = (async () => {
    for await (const msg of messages) {
      while (inFlight.size >= concurrency) {
        await new Promise<void>((resolve) => {
          slotFreed = resolve;
        });
      }
      const task = handle(msg)
        .catch((error) => log.error({ err: error, seq: msg.seq }, 'message handling crashed'))
        .finally(() => {
          inFlight.delete(task);
          slotFreed?.();
          slotFreed = undefined;
        });
      inFlight.add(task);
    }
    await Promise.allSettled([...inFlight]);
  })();

  let stopping: Promise<void> | undefined;
  return {
    closed: loop,
    stop() {
      stopping ??= (async () => {
        abort.abort();
        await messages.close();
        await loop;
        log.info('consumer stopped');
      })();
      return stopping;
    },
  };
}
