import type { ConsumerDefinition, EventHandler, Publisher } from '@konstruct/bus';
import { type EventOf, tenantMessage } from '@konstruct/contracts';
import { type Clock, type IdGenerator, randomIds, systemClock } from '@konstruct/core';
import { type Topology, typeFilter } from '@konstruct/names';
import type { Redis } from 'ioredis';
import type { PlatformLinks } from '../delivery/connections.ts';
import { slackThreadTs, whatsappBody } from '../delivery/format.ts';
import { type DeliveryResult, deliverOnce } from '../delivery/outcome.ts';
import { guardKey } from '../keys.ts';

/** What a rate-limited person is told, once per window (the router decides when: `notified`). */
export const RATE_LIMIT_NOTICE =
  "You're sending messages faster than I can answer. Please wait a minute, then send your message again.";

/**
 * The durable consumer of rate-limit notices: `message.rejected` only (nats-server 2.9 has one filter per
 * consumer), with the platform's usual retry schedule.
 */
export function noticesDefinition(topology: Topology): ConsumerDefinition {
  return {
    name: 'notices',
    stream: 'events',
    filterSubject: typeFilter(topology, 'message.rejected')[0]!,
    ackWaitMs: 30_000,
    maxDeliver: 5,
    backoffMs: [1_000, 5_000, 30_000, 120_000],
    concurrency: 8,
  };
}

/** Dependencies of {@link createNoticeHandler}. */
export interface NoticeHandlerDeps {
  redis: Redis;
  publisher: Publisher;
  links: PlatformLinks;
  guardTtlMs: number;
  maxDeliver: number;
  /** @default systemClock */
  clock?: Clock;
  /** @default randomIds */
  ids?: IdGenerator;
}

/** Whether a rejection calls for telling the person: rate limited, and the router chose this one to notify. */
export function needsNotice(event: EventOf<'message.rejected'>): boolean {
  return event.data.reason === 'rate_limited' && event.data.notified;
}

/**
 * Handles `message.rejected`: for a rate-limited message the router marked `notified`, tells the person once —
 * a Slack ephemeral message only they see, in the thread they wrote in, or a WhatsApp reply quoting their
 * message — and publishes `delivery.succeeded`/`delivery.failed` with the rejection as `replyEventId`.
 * Other rejections are acknowledged silently: not being addressed is not worth a message.
 */
export function createNoticeHandler(deps: NoticeHandlerDeps): EventHandler {
  const { redis, publisher, links, guardTtlMs, maxDeliver } = deps;
  const once = {
    redis,
    publisher,
    ttlMs: guardTtlMs,
    maxDeliver,
    clock: deps.clock ?? systemClock,
    ids: deps.ids ?? randomIds,
  };

  async function attempt(rejected: EventOf<'message.rejected'>): Promise<DeliveryResult> {
    const { message } = rejected.data;
    const link = await links.linkFor(message);
    switch (link.kind) {
      case 'misconfigured':
        return { ok: false, reason: link.reason, response: {} };
      case 'slack': {
        const thread = message.addressing.inThread ? slackThreadTs(message) : undefined;
        const { messageTs } = await link.client.postEphemeral({
          channel: message.channelId,
          user: message.sender.id,
          text: RATE_LIMIT_NOTICE,
          ...(thread ? { thread_ts: thread } : {}),
        });
        return {
          ok: true,
          platformMessageId: messageTs,
          response: { message_ts: messageTs, ephemeral: true },
        };
      }
      case 'whatsapp': {
        const sent = await link.client.sendText({
          to: message.channelId,
          text: whatsappBody(RATE_LIMIT_NOTICE),
          replyTo: message.platformMessageId,
        });
        return { ok: true, platformMessageId: sent.messageId, response: { wamid: sent.messageId } };
      }
    }
  }

  return async (event, context) => {
    if (event.type !== 'message.rejected' || !needsNotice(event)) return;
    const message = tenantMessage(event);
    const { result, replayed } = await deliverOnce(
      once,
      {
        cause: event,
        message,
        guard: guardKey(message.tenantId, 'notice', event.id),
        lease: guardKey(message.tenantId, 'lease', `notice:${event.id}`),
        attempt: () => attempt(event),
      },
      context,
    );
    if (!replayed) {
      context.logger.info(
        { channel: message.channel, ok: result?.ok, reason: result?.ok ? undefined : result?.reason },
        'rate-limit notice',
      );
    }
  };
}
