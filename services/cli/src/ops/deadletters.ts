import { isApiError, REDRIVE_CONSUMER_HEADER } from '@konstruct/bus';
import { DeadLettered, type EventOf } from '@konstruct/contracts';
import { describeError, NotFoundError, UnavailableError, ValidationError } from '@konstruct/core';
import { deadLetterSubject, type Topology } from '@konstruct/names';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { z } from 'zod';
import { openRange } from './reader.ts';

// JetStream's error code for "no message found" on a stream message get.
const NO_MESSAGE_FOUND = 10037;

/** A dead letter as the ops tools show it; its id is its sequence in the ops stream. */
export interface DeadLetterView {
  id: number;
  storedAt: string;
  consumer: string;
  originalSubject: string;
  originalSequence: number;
  deliveries: number;
  reason: string;
  /** The original message id (`Nats-Msg-Id`), when it had one. */
  messageId: string | undefined;
  /** What the payload says it is, when it is readable JSON. */
  tenantId: string | undefined;
  eventType: string | undefined;
  eventId: string | undefined;
  payload: string;
}

/** The dead-lettering consumer plus the bus handles the dead-letter functions need. */
export interface DeadLetterBus {
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
}

const payloadHead = z
  .object({ type: z.string().optional(), id: z.string().optional(), tenantid: z.string().optional() })
  .loose();

/** `ops.deadletter.` under the topology's prefix: what every dead-letter subject starts with. */
function deadLetterRoot(topology: Topology): string {
  return deadLetterSubject(topology, 'x').slice(0, -1);
}

function view(id: number, storedAt: number, letter: EventOf<'deadletter.recorded'>): DeadLetterView {
  let head: z.infer<typeof payloadHead> = {};
  try {
    head = payloadHead.parse(JSON.parse(letter.data.payload));
  } catch {
    // an unreadable payload is a reason things were dead-lettered; show it as it is
  }
  return {
    id,
    storedAt: new Date(storedAt).toISOString(),
    consumer: letter.data.consumer,
    originalSubject: letter.data.originalSubject,
    originalSequence: letter.data.streamSequence,
    deliveries: letter.data.deliveries,
    reason: letter.data.reason,
    messageId: letter.data.messageId,
    tenantId: head.tenantid ?? letter.tenantid,
    eventType: head.type,
    eventId: head.id,
    payload: letter.data.payload,
  };
}

function parseLetter(id: number, bytes: Uint8Array): EventOf<'deadletter.recorded'> {
  try {
    return DeadLettered.parse(JSON.parse(new TextDecoder().decode(bytes))) as EventOf<'deadletter.recorded'>;
  } catch (error) {
    throw new ValidationError(`ops message #${id} is not a readable dead letter: ${describeError(error)}`, {
      cause: error,
    });
  }
}

/** Every dead letter in the ops stream, oldest first, optionally of one consumer. */
export async function listDeadLetters(bus: DeadLetterBus, consumer?: string): Promise<DeadLetterView[]> {
  const filter = consumer ? deadLetterSubject(bus.topology, consumer) : `${deadLetterRoot(bus.topology)}>`;
  const range = await openRange({
    js: bus.js,
    jsm: bus.jsm,
    stream: bus.topology.streams.ops,
    filter,
    start: { kind: 'all' },
    end: { kind: 'now' },
  });
  const out: DeadLetterView[] = [];
  for await (const batch of range.batches()) {
    for (const record of batch)
      out.push(view(record.seq, record.storedAt, parseLetter(record.seq, record.data)));
  }
  return out;
}

/** One dead letter by its id (ops stream sequence); {@link NotFoundError} when there is none. */
export async function getDeadLetter(bus: DeadLetterBus, id: number): Promise<DeadLetterView> {
  let stored: Awaited<ReturnType<JetStreamManager['streams']['getMessage']>>;
  try {
    stored = await bus.jsm.streams.getMessage(bus.topology.streams.ops, { seq: id });
  } catch (error) {
    if (isApiError(error, NO_MESSAGE_FOUND))
      throw new NotFoundError(`no dead letter #${id}`, { cause: error });
    throw error;
  }
  if (!stored?.subject.startsWith(deadLetterRoot(bus.topology))) {
    throw new NotFoundError(`no dead letter #${id}`);
  }
  return view(id, stored.time.getTime(), parseLetter(id, stored.data));
}

/**
 * The message id of a redrive: the original id (without an earlier redrive's suffix) plus
 * `:redrive:<dead-letter id>`. The original id itself would be dropped as a duplicate while the stream's
 * duplicate window remembers it; a fixed suffix per dead letter makes a redrive that is repeated (interrupted
 * before its dead letter was deleted) a duplicate, so the message is put back once.
 */
export function redriveMessageId(letter: DeadLetterView): string {
  const original = (letter.messageId ?? letter.eventId ?? `deadletter-${letter.id}`).replace(
    /:redrive:\d+$/,
    '',
  );
  return `${original}:redrive:${letter.id}`;
}

/** What a redrive did. */
export interface RedriveResult {
  id: number;
  subject: string;
  msgId: string;
  /** Where the message was stored again. */
  seq: number;
  /** True when an earlier, interrupted redrive had already stored it. */
  duplicate: boolean;
}

/**
 * Puts a dead letter's original payload back on its original subject, for the consumer that gave up on it
 * only ({@link REDRIVE_CONSUMER_HEADER}), then deletes the dead letter. The payload is the original event with
 * its original id, so the ids its handler derives (`<id>:<type>`) are the ones the first attempt would have
 * published. The dead letter is deleted only after JetStream stored the redrive: interrupted in between,
 * running the redrive again stores nothing new and finishes the delete.
 */
export async function redrive(bus: DeadLetterBus, letter: DeadLetterView): Promise<RedriveResult> {
  const msgId = redriveMessageId(letter);
  const h = natsHeaders();
  h.set('Content-Type', 'application/cloudevents+json');
  h.set(REDRIVE_CONSUMER_HEADER, letter.consumer);
  let ack: Awaited<ReturnType<JetStreamClient['publish']>>;
  try {
    ack = await bus.js.publish(letter.originalSubject, new TextEncoder().encode(letter.payload), {
      msgID: msgId,
      headers: h,
      timeout: 5_000,
    });
  } catch (error) {
    throw new UnavailableError(
      `dead letter #${letter.id} was not redriven (kept): JetStream did not store ${letter.originalSubject}: ${describeError(error)}`,
      { cause: error },
    );
  }
  await bus.jsm.streams.deleteMessage(bus.topology.streams.ops, letter.id, false);
  return { id: letter.id, subject: letter.originalSubject, msgId, seq: ack.seq, duplicate: ack.duplicate };
}
