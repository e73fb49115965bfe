import {
  createEvent,
  derivedEventId,
  type KonstructEvent,
  type KonstructMessage,
} from '@konstruct/contracts';
import { type Clock, manualClock, randomIds } from '@konstruct/core';

/** What one message's journey says beyond the message itself; the derived ids follow from `ingressId`. */
export interface JourneyParts {
  tenantId: string;
  agentId: string;
  message: KonstructMessage;
  /** `message.received`'s id, which every later event of the journey carries as its correlation id. */
  ingressId: string;
  conversationId: string;
  /** Why the router routed it. @default 'mention' */
  reason?: 'direct' | 'mention' | 'engaged_thread';
  reply: {
    text: string;
    model: string;
    provider: string;
    usage: { promptTokens: number; completionTokens: number };
    latencyMs: number;
  };
  /** The platform's id of the posted reply. */
  postedId: string;
  /** Sets each event's time. */
  clock: Clock & { advance(ms: number): void };
  /** Milliseconds the clock moves on before the routed, replied and delivered events. @default none */
  steps?: readonly [routed: number, replied: number, delivered: number];
  /** Stop after this event. @default 'delivered' */
  until?: 'received' | 'routed' | 'replied' | 'delivered';
}

/**
 * One message's journey through the pipeline as the services emit it: `message.received` (the gateway),
 * `message.routed` (the router), `agent.replied` with token usage and `delivery.succeeded` (the orchestrator),
 * with the derived ids and the correlation and causation ids the services use. The test generators of the
 * projections and the ops tools, and the benchmarks, make their messages and call this.
 */
export function journeyEvents(parts: JourneyParts): KonstructEvent[] {
  const { tenantId, agentId, message, ingressId, conversationId, reply, clock, until = 'delivered' } = parts;
  const [toRouted, toReplied, toDelivered] = parts.steps ?? [0, 0, 0];
  const deps = { clock, ids: randomIds };
  const received = createEvent(
    { type: 'message.received', id: ingressId, tenantId, source: '/konstruct/gateway', data: { message } },
    deps,
  );
  const events: KonstructEvent[] = [received];
  if (until === 'received') return events;
  clock.advance(toRouted);
  const routed = createEvent(
    {
      type: 'message.routed',
      id: derivedEventId(ingressId, 'message.routed'),
      tenantId,
      source: '/konstruct/router',
      correlationId: ingressId,
      causationId: ingressId,
      data: { message, agentId, conversationId, reason: parts.reason ?? 'mention' },
    },
    deps,
  );
  events.push(routed);
  if (until === 'routed') return events;
  clock.advance(toReplied);
  const replied = createEvent(
    {
      type: 'agent.replied',
      id: derivedEventId(routed.id, 'agent.replied'),
      tenantId,
      source: '/konstruct/orchestrator',
      correlationId: ingressId,
      causationId: routed.id,
      data: {
        agentId,
        conversationId,
        inReplyTo: routed.id,
        message,
        reply: { text: reply.text },
        kind: 'answer',
        model: reply.model,
        provider: reply.provider,
        usage: reply.usage,
        latencyMs: reply.latencyMs,
      },
    },
    deps,
  );
  events.push(replied);
  if (until === 'replied') return events;
  clock.advance(toDelivered);
  events.push(
    createEvent(
      {
        type: 'delivery.succeeded',
        id: derivedEventId(replied.id, 'delivery.succeeded'),
        tenantId,
        source: '/konstruct/orchestrator',
        correlationId: ingressId,
        causationId: replied.id,
        data: {
          channel: message.channel,
          workspaceId: message.workspaceId,
          channelId: message.channelId,
          threadId: message.threadId,
          replyEventId: replied.id,
          platformMessageId: parts.postedId,
          response: { ok: true },
        },
      },
      deps,
    ),
  );
  return events;
}

/** A WhatsApp receipt (`delivery.status`) for a message the business sent, as the gateway records it. */
export function receipt(
  tenantId: string,
  workspaceId: string,
  platformMessageId: string,
  status: 'sent' | 'delivered' | 'read' | 'failed',
  atMs: number,
  recipientId = '16505551234',
): KonstructEvent {
  return createEvent(
    {
      type: 'delivery.status',
      id: `wa:${workspaceId}:status:${platformMessageId}:${status}`,
      tenantId,
      source: '/konstruct/gateway',
      data: {
        channel: 'whatsapp',
        workspaceId,
        platformMessageId,
        status,
        recipientId,
        at: new Date(atMs).toISOString(),
        errors: [],
      },
    },
    { clock: manualClock(atMs + 50), ids: randomIds },
  );
}
