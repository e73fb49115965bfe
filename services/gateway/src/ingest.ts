import type { Publisher, PublishResult } from '@konstruct/bus';
import {
  type ChannelType,
  CURRENT_SCHEMA_VERSION,
  type DataOf,
  derivedEventId,
  type EventOf,
  type EventType,
  eventSchemas,
  type KonstructEvent,
  type KonstructMessage,
} from '@konstruct/contracts';
import type { Clock, Logger } from '@konstruct/core';
import type { GatewayMetrics } from './metrics.ts';

/** The `source` of every event the gateway produces. */
export const GATEWAY_SOURCE = '/konstruct/gateway';

/** Turns decisions into stored events. Every method resolves only once JetStream has stored (or already had) it. */
export interface Ingest {
  /** `message.received` on `tenant.<id>.message.received.<channel>`, with the platform id as event and message id. */
  received(eventId: string, message: KonstructMessage): Promise<PublishResult>;
  /** `delivery.status` on `tenant.<id>.delivery.status.<channel>`. */
  status(eventId: string, tenantId: string, data: DataOf<'delivery.status'>): Promise<PublishResult>;
  /** `ingress.unrouted` on `ops.ingress.unrouted`: a webhook no tenant has connected, so nothing vanishes. */
  unrouted(
    channel: ChannelType,
    workspaceId: string,
    platformEventId: string,
    reason: string,
  ): Promise<PublishResult>;
}

/** Options for {@link createIngest}. */
export interface IngestOptions {
  publisher: Publisher;
  clock: Clock;
  metrics: GatewayMetrics;
  logger: Logger;
  /** How long to wait for JetStream before giving up (and answering 503). */
  publishTimeoutMs: number;
  /** Check every event against its schema before publishing it. @default true */
  validate?: boolean;
}

/**
 * Builds each event's CloudEvents envelope (correlation and causation are the event's own id: these are first
 * events) and publishes it with its id as `Nats-Msg-Id`, so a retried webhook is stored once. A publish that is
 * not acknowledged in time throws UnavailableError; the caller must not answer 200.
 */
export function createIngest({
  publisher,
  clock,
  metrics,
  logger,
  publishTimeoutMs,
  validate = true,
}: IngestOptions): Ingest {
  /**
   * The envelope of a first event (its own id as correlation and causation). Not `createEvent`: that parses
   * against the union of every event type, and on the hot path it was the largest single cost of a request.
   * With `validate` the envelope is checked against its type's schema (development and tests, where every
   * stored event is also read back through `parseEvent`); in production the types built from the parsed
   * webhook stand for it, and every consumer parses what it reads anyway.
   */
  function envelope<T extends EventType>(
    type: T,
    id: string,
    tenantId: string | undefined,
    data: DataOf<T>,
  ): EventOf<T> {
    const event = {
      specversion: '1.0',
      id,
      source: GATEWAY_SOURCE,
      type,
      time: new Date(clock.now()).toISOString(),
      datacontenttype: 'application/json',
      ...(tenantId === undefined ? {} : { tenantid: tenantId }),
      correlationid: id,
      causationid: id,
      schemaversion: CURRENT_SCHEMA_VERSION,
      data,
    };
    return (validate ? eventSchemas[type].parse(event) : event) as EventOf<T>;
  }

  async function publish(event: KonstructEvent): Promise<PublishResult> {
    const started = performance.now();
    try {
      const result = await publisher.publish(event, { timeoutMs: publishTimeoutMs });
      const outcome = result.duplicate ? 'duplicate' : 'stored';
      metrics.publishSeconds.observe({ result: outcome }, (performance.now() - started) / 1000);
      metrics.events.inc({ type: event.type, result: outcome });
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          {
            tenantId: event.tenantid,
            eventId: event.id,
            correlationId: event.correlationid,
            seq: result.seq,
            duplicate: result.duplicate,
          },
          result.duplicate ? 'already stored: a retry' : 'stored',
        );
      }
      return result;
    } catch (error) {
      metrics.publishSeconds.observe({ result: 'failed' }, (performance.now() - started) / 1000);
      metrics.events.inc({ type: event.type, result: 'failed' });
      throw error;
    }
  }

  return {
    received(eventId, message) {
      return publish(envelope('message.received', eventId, message.tenantId, { message }));
    },
    status(eventId, tenantId, data) {
      return publish(envelope('delivery.status', eventId, tenantId, data));
    },
    unrouted(channel, workspaceId, platformEventId, reason) {
      logger.info(
        { channel, workspaceId, platformEventId, reason },
        'webhook from a workspace no tenant has connected',
      );
      const id = derivedEventId(platformEventId, 'ingress.unrouted');
      return publish(
        envelope('ingress.unrouted', id, undefined, { channel, workspaceId, platformEventId, reason }),
      );
    },
  };
}
