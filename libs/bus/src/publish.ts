import { type EventType, encodeEvent, type KonstructEvent } from '@konstruct/contracts';
import { UnavailableError } from '@konstruct/core';
import { opsSubject, type Topology, tenantSubject } from '@konstruct/names';
import type { JetStreamClient } from '@nats-io/jetstream';
import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';

/** What JetStream said about a publish. */
export interface PublishResult {
  /** The stream sequence of the stored (or earlier stored) message. */
  seq: number;
  /** True when the message id was already in the duplicate window: nothing new was stored. */
  duplicate: boolean;
  subject: string;
}

/** Options for one publish. */
export interface PublishOptions {
  /** The JetStream message id. @default the event's id */
  msgId?: string;
  /** How long to wait for JetStream to store it. */
  timeoutMs?: number;
}

/** Publishes events; every publish has a message id and reports duplicates. */
export interface Publisher {
  publish(event: KonstructEvent, options?: PublishOptions): Promise<PublishResult>;
  /** Publishes raw bytes on a subject (dead letters, redrives) with a message id. */
  publishRaw(
    subject: string,
    payload: Uint8Array,
    msgId: string,
    options?: { timeoutMs?: number },
  ): Promise<PublishResult>;
}

const CHANNEL_SUFFIXED: ReadonlySet<EventType> = new Set([
  'message.received',
  'delivery.succeeded',
  'delivery.failed',
  'delivery.status',
]);

/**
 * The subject an event belongs on: tenant events on `tenant.<id>.<type>[.<channel>]` (the channel token on
 * inbound messages and delivery outcomes), events without a tenant on `ops.<type>`.
 */
export function subjectFor(topology: Topology, event: KonstructEvent): string {
  if (event.type === 'ingress.unrouted') return opsSubject(topology, 'ingress', 'unrouted');
  if (event.type === 'deadletter.recorded') return opsSubject(topology, 'deadletter', event.data.consumer);
  const channel = CHANNEL_SUFFIXED.has(event.type) ? channelOf(event) : undefined;
  return tenantSubject(topology, event.tenantid, event.type, channel);
}

function channelOf(event: KonstructEvent): string | undefined {
  const data = event.data as { message?: { channel: string }; channel?: string };
  return data.channel ?? data.message?.channel;
}

/**
 * The headers every stored event carries: its content type, and the JetStream message id when the caller
 * publishes without the JetStream client (which otherwise sets it from `msgID`).
 */
export function eventHeaders(msgId?: string): MsgHdrs {
  const h = natsHeaders();
  if (msgId !== undefined) h.set('Nats-Msg-Id', msgId);
  h.set('Content-Type', 'application/cloudevents+json');
  return h;
}

/**
 * Creates the publisher for a topology. A publish that JetStream does not acknowledge within the timeout
 * (or with no stream listening) fails with {@link UnavailableError}: the caller must not treat it as stored.
 */
export function createPublisher(
  js: JetStreamClient,
  topology: Topology,
  { timeoutMs = 2_000 }: { timeoutMs?: number } = {},
): Publisher {
  async function publishRaw(
    subject: string,
    payload: Uint8Array,
    msgId: string,
    options: { timeoutMs?: number } = {},
  ): Promise<PublishResult> {
    const h = eventHeaders();
    try {
      const ack = await js.publish(subject, payload, {
        msgID: msgId,
        timeout: options.timeoutMs ?? timeoutMs,
        headers: h,
      });
      return { seq: ack.seq, duplicate: ack.duplicate, subject };
    } catch (error) {
      throw new UnavailableError(`JetStream did not store ${subject}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return eventPublisher(topology, publishRaw);
}

/** A {@link Publisher} over a way of publishing raw bytes: each event on its subject, its id as message id. */
export function eventPublisher(topology: Topology, publishRaw: Publisher['publishRaw']): Publisher {
  return {
    publishRaw,
    publish(event, options = {}) {
      return publishRaw(subjectFor(topology, event), encodeEvent(event), options.msgId ?? event.id, options);
    },
  };
}
