import type { EventHandler, Publisher } from '@konstruct/bus';
import {
  createEvent,
  derivedEventId,
  type EventOf,
  type KonstructEvent,
  type KonstructMessage,
  RejectionReason,
  tenantMessage,
} from '@konstruct/contracts';
import { type Clock, type IdGenerator, UnavailableError, ValidationError } from '@konstruct/core';
import { conversationId, engagedThreadKey, idempotencyKey } from '@konstruct/names';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { eventKeyPart, type RateLimiter } from './bucket.ts';
import { admit, type Decision, decide } from './decide.ts';
import type { DirectoryReader } from './directory.ts';

/** The routing settings, from the `routing` config section and the tenant's own limits. */
export interface RoutingSettings {
  /** Messages per window per channel when the tenant sets none. @default 30 */
  rateLimitMessages: number;
  /** @default 60_000 */
  rateLimitWindowMs: number;
  /** How long a thread stays engaged after the last exchange. @default 1_800_000 */
  engagedThreadTtlMs: number;
  /**
   * How long a message's decision is remembered, so a redelivery publishes the same outcome. It must outlast
   * the consumer's redelivery schedule (minutes). @default 3_600_000
   */
  decisionTtlMs: number;
}

/** What the routing handler needs. */
export interface RoutingHandlerDeps {
  publisher: Publisher;
  redis: Redis;
  directory: DirectoryReader;
  limiter: RateLimiter;
  clock: Clock;
  ids: IdGenerator;
  settings: RoutingSettings;
}

const SOURCE = '/konstruct/router';

// What is remembered per message: the decision, parsed again on the way back in (Redis is a boundary).
const StoredDecision = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('routed'),
    agentId: z.uuid(),
    reason: z.enum(['direct', 'mention', 'engaged_thread']),
    engageThread: z.boolean(),
  }),
  z.object({
    kind: z.literal('rejected'),
    reason: RejectionReason,
    detail: z.string(),
    notified: z.boolean(),
  }),
]);

/**
 * Handles `message.received`: recalls the decision if this message was decided before (a redelivery), else
 * gathers the state (directory, engaged thread, and a rate-limit token only for an admitted message),
 * decides, and remembers the decision; then engages the thread and publishes `message.routed` or
 * `message.rejected` with an id derived from the input, so whatever is redelivered publishes nothing new.
 */
export function createRoutingHandler(deps: RoutingHandlerDeps): EventHandler {
  const { publisher, redis, directory, limiter, clock, ids, settings } = deps;

  async function fresh(event: EventOf<'message.received'>, message: KonstructMessage): Promise<Decision> {
    const { tenantId, channel, channelId, threadId } = message;
    const found = await directory.lookup(tenantId, message.connectionId);
    // the engaged key matters only for a Slack reply in a thread that is neither a DM nor a mention
    const needsEngaged =
      channel === 'slack' &&
      !message.addressing.direct &&
      !message.addressing.mentioned &&
      message.addressing.inThread;
    const engaged = needsEngaged
      ? (await redis.exists(engagedThreadKey(tenantId, channel, channelId, threadId))) === 1
      : false;
    const state = { ...found, engaged };
    const admission = admit(state, message);
    if (admission.kind === 'rejected') return admission;
    const now = clock.now();
    const rate = await limiter.take({
      tenantId,
      channel,
      channelId,
      senderId: message.sender.id,
      eventId: event.id,
      limit: found.rateLimitMessages ?? settings.rateLimitMessages,
      windowMs:
        found.rateLimitWindowSeconds !== null
          ? found.rateLimitWindowSeconds * 1000
          : settings.rateLimitWindowMs,
      now,
    });
    return decide({ ...state, rate }, message, now);
  }

  /** Stores the decision unless one is stored already, and returns the one that counts. */
  async function remember(key: string, decision: Decision): Promise<Decision> {
    const stored = await redis.set(key, JSON.stringify(decision), 'PX', settings.decisionTtlMs, 'NX');
    if (stored === 'OK') return decision;
    // a concurrent delivery of the same message decided first: its decision is the one published
    return (await recall(key)) ?? decision;
  }

  async function recall(key: string): Promise<Decision | undefined> {
    const text = await redis.get(key);
    if (text === null) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = StoredDecision.safeParse(json);
    // an unreadable memo (an older build's shape) is decided afresh; the rate memo still holds the token
    return parsed.success ? parsed.data : undefined;
  }

  function outcome(cause: EventOf<'message.received'>, decision: Decision): KonstructEvent {
    const { message } = cause.data;
    const common = {
      source: SOURCE,
      tenantId: message.tenantId,
      correlationId: cause.correlationid,
      causationId: cause.id,
      subject: conversationId(message),
    };
    if (decision.kind === 'routed') {
      return createEvent(
        {
          ...common,
          type: 'message.routed',
          id: derivedEventId(cause.id, 'message.routed'),
          data: {
            message,
            agentId: decision.agentId,
            conversationId: conversationId(message),
            reason: decision.reason,
          },
        },
        { clock, ids },
      );
    }
    return createEvent(
      {
        ...common,
        type: 'message.rejected',
        id: derivedEventId(cause.id, 'message.rejected'),
        data: { message, reason: decision.reason, detail: decision.detail, notified: decision.notified },
      },
      { clock, ids },
    );
  }

  return async (event, { logger }) => {
    if (event.type !== 'message.received') return;
    const message = tenantMessage(event);
    const memoKey = idempotencyKey(message.tenantId, 'route', eventKeyPart(event.id));
    let decision: Decision;
    let replayed = false;
    try {
      const earlier = await recall(memoKey);
      if (earlier) {
        decision = earlier;
        replayed = true;
      } else {
        decision = await remember(memoKey, await fresh(event, message));
      }
      if (decision.kind === 'routed' && decision.engageThread) {
        await redis.set(
          engagedThreadKey(message.tenantId, message.channel, message.channelId, message.threadId),
          '1',
          'PX',
          settings.engagedThreadTtlMs,
        );
      }
    } catch (error) {
      if (error instanceof ValidationError || error instanceof UnavailableError) throw error;
      // Redis or Postgres hiccups are worth a retry with backoff, not a dead letter
      throw new UnavailableError(`routing state unavailable: ${(error as Error).message}`, { cause: error });
    }
    const published = await publisher.publish(outcome(event, decision));
    logger.info(
      {
        decision: decision.kind,
        reason: decision.reason,
        ...(decision.kind === 'routed' ? { agentId: decision.agentId } : { notified: decision.notified }),
        replayed,
        duplicate: published.duplicate,
        channel: message.channel,
      },
      decision.kind === 'routed' ? 'message routed' : 'message rejected',
    );
  };
}
