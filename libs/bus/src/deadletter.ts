import { createEvent, type KonstructEvent } from '@konstruct/contracts';
import { type Clock, type IdGenerator, randomIds, systemClock } from '@konstruct/core';
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
