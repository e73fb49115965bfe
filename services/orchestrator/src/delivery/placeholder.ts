import type { KonstructMessage } from '@konstruct/contracts';
import { SlackApiError, type SlackClient, type SlackMessageRef } from '@konstruct/platforms';
import type { Redis } from 'ioredis';
import { guardKey } from '../keys.ts';
import { PLACEHOLDER_TEXT, slackContent, slackThreadTs } from './format.ts';

/** Options for {@link createSlackThreadWriter}. */
export interface SlackThreadWriterOptions {
  redis: Redis;
  /** How long the placeholder's ts is remembered; at least the stream's duplicate window. */
  ttlMs: number;
}

/**
 * Posts one Slack message per routed message and then only edits it. The message's ts is remembered in Redis
 * under the routed event's `placeholder` guard, so whoever comes again for the same routed message — a
 * redelivery, a restarted process, the delivery after the placeholder — updates that message instead of
 * posting a second one.
 */
export interface SlackThreadWriter {
  /** Posts the "thinking" placeholder unless this routed message already has its message; returns its ref. */
  placeholder(
    client: SlackClient,
    routedEventId: string,
    message: KonstructMessage,
  ): Promise<SlackMessageRef>;
  /**
   * Puts `answer` in the routed message's Slack message: updates the placeholder, or posts the answer when
   * there is none (or it was deleted). Updating with the same text again is harmless, which makes a
   * redelivered reply idempotent on Slack's side.
   */
  answer(
    client: SlackClient,
    routedEventId: string,
    message: KonstructMessage,
    answer: string,
  ): Promise<SlackMessageRef & { updated: boolean }>;
}

/** Creates the {@link SlackThreadWriter}. */
export function createSlackThreadWriter({ redis, ttlMs }: SlackThreadWriterOptions): SlackThreadWriter {
  const keyOf = (message: KonstructMessage, routedEventId: string) =>
    guardKey(message.tenantId, 'placeholder', routedEventId);

  async function remembered(key: string): Promise<string | undefined> {
    return (await redis.get(key)) ?? undefined;
  }

  async function post(
    client: SlackClient,
    key: string,
    message: KonstructMessage,
    content: { text: string } | { markdown_text: string },
  ): Promise<SlackMessageRef> {
    const thread = slackThreadTs(message);
    const ref = await client.postMessage({
      channel: message.channelId,
      ...content,
      ...(thread ? { thread_ts: thread } : {}),
    });
    // remembered right after the post: the window in which a crash could lead to a second post is this one
    // round trip to Redis
    await redis.set(key, ref.ts, 'PX', ttlMs);
    return ref;
  }

  return {
    async placeholder(client, routedEventId, message) {
      const key = keyOf(message, routedEventId);
      const ts = await remembered(key);
      if (ts) return { channel: message.channelId, ts };
      return post(client, key, message, { text: PLACEHOLDER_TEXT });
    },
    async answer(client, routedEventId, message, answer) {
      const key = keyOf(message, routedEventId);
      const content = slackContent(answer);
      const ts = await remembered(key);
      if (ts) {
        try {
          const ref = await client.update({ channel: message.channelId, ts, ...content });
          return { ...ref, updated: true };
        } catch (error) {
          // someone deleted the placeholder: post the answer as a new message rather than lose it
          if (!(error instanceof SlackApiError && error.error === 'message_not_found')) throw error;
        }
      }
      return { ...(await post(client, key, message, content)), updated: false };
    },
  };
}
