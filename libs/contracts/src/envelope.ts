import { type Clock, type IdGenerator, ValidationError } from '@konstruct/core';
import { z } from 'zod';
import {
  CURRENT_SCHEMA_VERSION,
  type DataOf,
  type EventOf,
  type EventType,
  KonstructEvent,
  knownSchemaVersions,
} from './events.ts';
import type { KonstructMessage } from './message.ts';

/** What a producer says about a new event; the envelope's other attributes are derived. */
export interface NewEvent<T extends EventType> {
  type: T;
  data: DataOf<T>;
  /** The producing component, e.g. `/konstruct/router`. */
  source: string;
  tenantId?: string;
  /** Defaults to the new event's own id (the first event of a journey). */
  correlationId?: string;
  /** Defaults to the new event's own id. */
  causationId?: string;
  /** The CloudEvents `subject`: what the event is about. */
  subject?: string;
  /** Use this id instead of a new UUID (derived events use `<causation>:<type>` for idempotency). */
  id?: string;
}

/** Builds a CloudEvents 1.0 envelope and validates it against its type's schema. */
export function createEvent<T extends EventType>(
  event: NewEvent<T>,
  deps: { clock: Clock; ids: IdGenerator },
): EventOf<T> {
  const id = event.id ?? deps.ids.uuid();
  const envelope = {
    specversion: '1.0',
    id,
    source: event.source,
    type: event.type,
    ...(event.subject === undefined ? {} : { subject: event.subject }),
    time: new Date(deps.clock.now()).toISOString(),
    datacontenttype: 'application/json',
    ...(event.tenantId === undefined ? {} : { tenantid: event.tenantId }),
    correlationid: event.correlationId ?? id,
    causationid: event.causationId ?? id,
    schemaversion: CURRENT_SCHEMA_VERSION,
    data: event.data,
  };
  return parseEvent(envelope) as EventOf<T>;
}

/**
 * The id of an event derived from another: `<causation id>:<type>`. Publishing it as the JetStream message
 * id makes a redelivered input re-publish nothing new.
 */
export function derivedEventId(causationId: string, type: EventType): string {
  return `${causationId}:${type}`;
}

/** A payload that is not a Konstruct event we can read; never worth retrying. */
export class EventSchemaError extends ValidationError {}

/**
 * The type and schema version of what claims to be an event, when it has both. Checked by hand: it runs
 * before the full parse of every event read, and a zod object for two fields cost about as much as a
 * tenth of that parse.
 */
function eventHeader(value: unknown): { type: string; schemaversion: number } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { type, schemaversion } = value as { type?: unknown; schemaversion?: unknown };
  return typeof type === 'string' && Number.isInteger(schemaversion)
    ? { type, schemaversion: schemaversion as number }
    : undefined;
}

/**
 * Parses a decoded JSON value as a Konstruct event: the envelope, the data of its type, and a schema
 * version this build knows. Throws {@link EventSchemaError} with a readable reason otherwise.
 */
export function parseEvent(value: unknown): KonstructEvent {
  const header = eventHeader(value);
  if (header) {
    const known = Object.hasOwn(knownSchemaVersions, header.type)
      ? knownSchemaVersions[header.type as EventType]
      : undefined;
    if (known && !known.includes(header.schemaversion)) {
      throw new EventSchemaError(
        `${header.type} schema version ${header.schemaversion} is not one this build reads (${known.join(', ')})`,
      );
    }
  }
  const parsed = KonstructEvent.safeParse(value);
  if (!parsed.success) {
    throw new EventSchemaError(
      `not a valid Konstruct event: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`,
      {
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}

/** Decodes and parses an event from wire bytes. */
export function decodeEvent(bytes: Uint8Array): KonstructEvent {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new EventSchemaError('payload is not JSON', { cause: error });
  }
  return parseEvent(json);
}

/** Encodes an event for the wire. */
export function encodeEvent(event: KonstructEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(event));
}

/**
 * The message an event carries, once it is known to be its own tenant's: the subject and the envelope name the
 * tenant the gateway resolved, and a message claiming another tenant must not touch that tenant's buckets,
 * threads, agents or conversations. Throws {@link ValidationError} (dead-lettered, never retried) otherwise.
 */
export function tenantMessage(
  event: KonstructEvent & { data: { message: KonstructMessage } },
): KonstructMessage {
  const { message } = event.data;
  if (message.tenantId !== event.tenantid) {
    throw new ValidationError(
      `${event.type} ${event.id} is for tenant ${event.tenantid} but its message names tenant ${message.tenantId}`,
    );
  }
  return message;
}
