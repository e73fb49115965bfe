import type { EventHandler, Publisher } from '@konstruct/bus';
import { type EventOf, tenantMessage } from '@konstruct/contracts';
import { type Clock, type IdGenerator, randomIds, systemClock } from '@konstruct/core';
import { engagedThreadKey } from '@konstruct/names';
import type { Redis } from 'ioredis';
import { guardKey } from '../keys.ts';
import type { PlatformLinks } from './connections.ts';
import { engagesThread, whatsappBody } from './format.ts';
import { type DeliveryResult, deliverOnce } from './outcome.ts';
import type { SlackThreadWriter } from './placeholder.ts';

/** Dependencies of {@link createDeliveryHandler}. */
export interface DeliveryHandlerDeps {
  redis: Redis;
  publisher: Publisher;
  links: PlatformLinks;
  slackThreads: SlackThreadWriter;
  /** How long outcomes are remembered; at least the stream's duplicate window. */
  guardTtlMs: number;
  /** `ENGAGED_THREAD_TTL`: answering in a Slack thread keeps it engaged this long. */
  engagedThreadTtlMs: number;
  maxDeliver: number;
  /** @default systemClock */
  clock?: Clock;
  /** @default randomIds */
  ids?: IdGenerator;
}

/**
 * Handles `agent.replied`: in Slack, replaces the "thinking" placeholder of the routed message with the
 * answer (or posts it in the thread when there is none) and keeps the thread engaged; in WhatsApp, sends the
 * answer quoting the customer's message. Publishes `delivery.succeeded` or `delivery.failed` (with a reason
 * an operator can act on: a missing token, Slack's error string, Graph's code), once per reply.
 */
export function createDeliveryHandler(deps: DeliveryHandlerDeps): EventHandler {
  const { redis, publisher, links, slackThreads, guardTtlMs, engagedThreadTtlMs, maxDeliver } = deps;
  const once = {
    redis,
    publisher,
    ttlMs: guardTtlMs,
    maxDeliver,
    clock: deps.clock ?? systemClock,
    ids: deps.ids ?? randomIds,
  };

  async function attempt(reply: EventOf<'agent.replied'>): Promise<DeliveryResult> {
    const { message, reply: content, inReplyTo } = reply.data;
    const link = await links.linkFor(message);
    switch (link.kind) {
      case 'misconfigured':
        return { ok: false, reason: link.reason, response: {} };
      case 'slack': {
        const ref = await slackThreads.answer(link.client, inReplyTo, message, content.text);
        if (engagesThread(message)) {
          // the agent spoke in this thread: follow-ups without a mention reach it for another window
          await redis.set(
            engagedThreadKey(message.tenantId, 'slack', message.channelId, message.threadId),
            '1',
            'PX',
            engagedThreadTtlMs,
          );
        }
        return {
          ok: true,
          platformMessageId: ref.ts,
          response: { channel: ref.channel, ts: ref.ts, updatedPlaceholder: ref.updated },
        };
      }
      case 'whatsapp': {
        const sent = await link.client.sendText({
          to: message.channelId,
          text: whatsappBody(content.text),
          replyTo: message.platformMessageId,
        });
        return {
          ok: true,
          platformMessageId: sent.messageId,
          response: {
            wamid: sent.messageId,
            ...(sent.waId ? { wa_id: sent.waId } : {}),
            status: sent.status ?? null,
          },
        };
      }
    }
  }

  return async (event, context) => {
    if (event.type !== 'agent.replied') return;
    const message = tenantMessage(event);
    const { result, replayed } = await deliverOnce(
      once,
      {
        cause: event,
        message,
        guard: guardKey(message.tenantId, 'delivered', event.id),
        lease: guardKey(message.tenantId, 'lease', `delivered:${event.id}`),
        attempt: () => attempt(event),
      },
      context,
    );
    if (replayed) {
      context.logger.info({ replayed }, 'reply already delivered; outcome re-published');
    } else if (result?.ok) {
      context.logger.info(
        { channel: message.channel, kind: event.data.kind, platformMessageId: result.platformMessageId },
        'reply delivered',
      );
    } else {
      context.logger.warn({ channel: message.channel, reason: result?.reason }, 'reply not delivered');
    }
  };
}
