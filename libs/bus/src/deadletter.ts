import { createEvent, type KonstructEvent } from '@konstruct/contracts';
import { type Clock, type IdGenerator, type Logger, randomIds, systemClock } from '@konstruct/core';
import { deadLetterSubject, type Topology } from '@konstruct/names';
import type { JsMsg } from '@nats-io/jetstream';
import type { ConsumerDefinition } from './definitions.ts';
import type { Publisher } from './publish.ts';

/** What {@link writeDeadLetter} needs besides the message. */
export interface DeadLetterContext {
  topology: Topology;
  definition: ConsumerDefinition;
  publisher: Publisher;
  clock?: Clock;
  ids?: IdGenerator;
}

/**
 * Stores a copy of a message its consumer gave up on as a `deadletter.recorded` event on
 * `ops.deadletter.<consumer>`: the reason, the original subject, sequence, deliveries, payload and message id,
 * so `konstruct dlq redrive` can put it back. Its id is derived from the consumer, stream and sequence, so a
 * message dead-lettered twice (a crash between storing the letter and the term) is stored once. Every
 * consumer runner calls this before it terms a message; if it throws, the message must not be termed.
 */
export async function writeDeadLetter(
  { topology, definition, publisher, clock = systemClock, ids = randomIds }: DeadLetterContext,
  msg: JsMsg,
  reason: string,
  event?: KonstructEvent,
): Promise<void> {
  const messageId = msg.headers?.get('Nats-Msg-Id');
  const letter = createEvent(
    {
      type: 'deadletter.recorded',
      source: `/konstruct/${definition.name}`,
      ...(event?.tenantid ? { tenantId: event.tenantid } : {}),
      ...(event ? { correlationId: event.correlationid, causationId: event.id } : {}),
      id: `${definition.name}:${topology.streams[definition.stream]}:${msg.seq}:deadletter`,
      data: {
        consumer: definition.name,
        originalSubject: msg.subject,
        streamSequence: msg.seq,
        deliveries: msg.info.deliveryCount,
        reason,
        payload: new TextDecoder().decode(msg.data),
        ...(messageId ? { messageId } : {}),
      },
    },
    { clock, ids },
  );
  await publisher.publishRaw(
    deadLetterSubject(topology, definition.name),
    new TextEncoder().encode(JSON.stringify(letter)),
    letter.id,
  );
}

/**
 * Gives up on a message, the one way every consumer does: the dead letter first ({@link writeDeadLetter}), then
 * TERM, without a reason (nats-server 2.9 does not parse `+TERM <reason>` and would leave the message pending;
 * the reason is in the letter). When the letter was not stored the message is kept, redelivered in 5 s, rather
 * than lost.
 */
export async function deadLetterAndTerm(
  context: DeadLetterContext,
  msg: JsMsg,
  reason: string,
  event: KonstructEvent | undefined,
  log: Logger,
): Promise<void> {
  try {
    await writeDeadLetter(context, msg, reason, event);
    msg.term();
  } catch (error) {
    log.error({ err: error, seq: msg.seq }, 'dead letter not stored; message will be redelivered');
    msg.nak(5_000);
  }
}
