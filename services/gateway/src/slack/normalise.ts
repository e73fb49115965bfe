import type { KonstructMessage, MediaAttachment } from '@konstruct/contracts';
import { ValidationError } from '@konstruct/core';
import { z } from 'zod';
import type { Connection } from '../connections.ts';

const SlackTs = z.string().regex(/^\d{1,12}\.\d{1,9}$/, 'a Slack ts looks like 1764151200.000100');

/** The `url_verification` handshake Slack sends when the Request URL is saved. */
export const SlackUrlVerification = z.looseObject({
  type: z.literal('url_verification'),
  challenge: z.string().min(1).max(1_000),
});

/** One installation the event is delivered for (Slack's `authorizations`). */
const SlackAuthorization = z.looseObject({
  team_id: z.string().nullish(),
  enterprise_id: z.string().nullish(),
  user_id: z.string().nullish(),
  is_bot: z.boolean().optional(),
  is_enterprise_install: z.boolean().optional(),
});

/** The Events API envelope of one event. */
export const SlackEventCallback = z.looseObject({
  type: z.literal('event_callback'),
  team_id: z.string().min(1).optional(),
  enterprise_id: z.string().nullish(),
  context_team_id: z.string().nullish(),
  context_enterprise_id: z.string().nullish(),
  api_app_id: z.string().optional(),
  event_id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'an event_id looks like Ev0APPMENTION1'),
  event_time: z.number().optional(),
  authorizations: z.array(SlackAuthorization).optional(),
  event: z.looseObject({ type: z.string().min(1) }),
});
/** The Events API envelope of one event. */
export type SlackEventCallback = z.infer<typeof SlackEventCallback>;

/** Slack's notice that it is holding back events because the app is over its rate. */
export const SlackAppRateLimited = z.looseObject({ type: z.literal('app_rate_limited') });

/** Everything `POST /slack/events` accepts, by `type`. */
export const SlackPayload = z.discriminatedUnion('type', [
  SlackUrlVerification,
  SlackEventCallback,
  SlackAppRateLimited,
]);
/** Everything `POST /slack/events` accepts. */
export type SlackPayload = z.infer<typeof SlackPayload>;

const SlackFile = z.looseObject({
  id: z.string().min(1),
  name: z.string().nullish(),
  title: z.string().nullish(),
  mimetype: z.string().nullish(),
  size: z.number().int().nonnegative().nullish(),
  url_private: z.string().nullish(),
});

/** A `message` or `app_mention` event: the fields the gateway reads. */
export const SlackMessageEvent = z.looseObject({
  type: z.enum(['message', 'app_mention']),
  subtype: z.string().optional(),
  user: z.string().min(1).optional(),
  bot_id: z.string().nullish(),
  text: z.string().optional(),
  ts: SlackTs,
  thread_ts: SlackTs.optional(),
  channel: z.string().regex(/^[A-Z0-9]{2,40}$/, 'a Slack channel id looks like C0GENERAL1'),
  channel_type: z.string().optional(),
  client_msg_id: z.string().optional(),
  files: z.array(SlackFile).optional(),
});
/** A `message` or `app_mention` event. */
export type SlackMessageEvent = z.infer<typeof SlackMessageEvent>;

const WORKSPACE_ID = /^[TE][A-Z0-9]{2,30}$/;

/**
 * The workspace ids a delivery may belong to, most specific first, the way Slack (and Bolt) attribute events:
 * the installation in `authorizations[0]` (its `team_id`, or its `enterprise_id` for an org-wide Enterprise Grid
 * install where the team is null), then `context_team_id` (the workspace of the channel, for shared channels),
 * then the envelope's `team_id`. Read from the unverified body only to choose the signing secret; ids that do
 * not look like Slack ids are left out so garbage never reaches the database.
 */
export function slackWorkspaceCandidates(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const b = body as Record<string, unknown>;
  const auth = Array.isArray(b.authorizations)
    ? (b.authorizations[0] as Record<string, unknown> | undefined)
    : undefined;
  const ids = [
    auth?.team_id,
    auth && (auth.is_enterprise_install === true || auth.team_id == null) ? auth.enterprise_id : undefined,
    b.context_team_id,
    b.team_id,
  ];
  const out: string[] = [];
  for (const id of ids) {
    if (typeof id === 'string' && WORKSPACE_ID.test(id) && !out.includes(id)) out.push(id);
  }
  return out;
}

/** What to do with one Slack event. */
export type SlackDecision =
  | { action: 'publish'; eventId: string; message: KonstructMessage }
  | { action: 'drop'; reason: string };

/** Subtypes that are a person's new message; every other subtype is not something to answer. */
const NEW_MESSAGE_SUBTYPES = new Set(['file_share', 'thread_broadcast']);

/**
 * The event id (and JetStream message id) of a Slack message: `slack:<workspace>:<channel>:<ts>`, the post
 * itself rather than its delivery. Slack delivers a channel post that mentions the app twice, as `app_mention`
 * and as `message`, with different `event_id`s but the same channel and `ts`; keying on the post stores it once,
 * whichever arrives first, and retries of either delivery are caught the same way.
 */
export function slackMessageEventId(workspaceId: string, channel: string, ts: string): string {
  return `slack:${workspaceId}:${channel}:${ts}`;
}

/**
 * Decides what one `event_callback` becomes, for a workspace connected as `connection`. Pure: a message a
 * person wrote becomes a {@link KonstructMessage}, the agent's own mention stripped from the text; what must
 * never reach an agent (the agent's own echoes, other bots, edits, deletions, joins and other subtypes, event
 * types that are not messages) is dropped with the reason. Throws {@link ValidationError} when a message event
 * lacks what every message has.
 */
export function decideSlackEvent(callback: SlackEventCallback, connection: Connection): SlackDecision {
  const type = callback.event.type;
  if (type !== 'message' && type !== 'app_mention')
    return { action: 'drop', reason: `${type} is not a message` };
  const parsed = SlackMessageEvent.safeParse(callback.event);
  if (!parsed.success) {
    throw new ValidationError(`${type} event: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`, {
      cause: parsed.error,
    });
  }
  const event = parsed.data;
  const botUserId = connection.settings.botUserId;
  const botId = connection.settings.botId;

  if ((botUserId && event.user === botUserId) || (botId && event.bot_id === botId)) {
    return { action: 'drop', reason: "the agent's own message echoed back" };
  }
  if (event.bot_id || event.subtype === 'bot_message')
    return { action: 'drop', reason: "another bot's message" };
  if (event.subtype === 'message_changed') return { action: 'drop', reason: 'an edit of an earlier message' };
  if (event.subtype === 'message_deleted') return { action: 'drop', reason: 'a deletion' };
  if (event.subtype !== undefined && !NEW_MESSAGE_SUBTYPES.has(event.subtype)) {
    return { action: 'drop', reason: `message subtype ${event.subtype}` };
  }
  if (!event.user) return { action: 'drop', reason: 'no human sender' };

  const rawText = event.text ?? '';
  const mention = botUserId ? mentionPattern(botUserId) : undefined;
  const mentioned = type === 'app_mention' || (mention !== undefined && rawText.search(mention) >= 0);
  const text = mention ? rawText.replace(mention, '').trim() : rawText.trim();
  const inThread = event.thread_ts !== undefined && event.thread_ts !== event.ts;

  const platform: Record<string, string | number | boolean | null> = {
    eventType: type,
    eventId: callback.event_id,
    channelType: event.channel_type ?? null,
  };
  if (event.subtype) platform.subtype = event.subtype;
  if (event.client_msg_id) platform.clientMsgId = event.client_msg_id;
  if (callback.api_app_id) platform.apiAppId = callback.api_app_id;

  // app_mention events carry no channel_type; a DM channel id starts with D
  const direct = event.channel_type === 'im' || event.channel.startsWith('D');
  return {
    action: 'publish',
    eventId: slackMessageEventId(connection.workspaceId, event.channel, event.ts),
    message: {
      tenantId: connection.tenantId,
      channel: 'slack',
      connectionId: connection.connectionId,
      workspaceId: connection.workspaceId,
      channelId: event.channel,
      // A DM is one running conversation: its top-level messages share the DM channel as their thread, so
      // the session window remembers earlier ones. In a channel each top-level message starts a thread.
      threadId: event.thread_ts ?? (direct ? event.channel : event.ts),
      platformMessageId: event.ts,
      sender: { id: event.user, isBot: false },
      content: { text, attachments: (event.files ?? []).map(attachmentOf) },
      sentAt: new Date(Math.floor(Number(event.ts) * 1000)).toISOString(),
      addressing: {
        direct,
        mentioned,
        inThread,
      },
      platform,
    },
  };
}

function attachmentOf(file: z.infer<typeof SlackFile>): MediaAttachment {
  const mime = file.mimetype ?? undefined;
  return {
    kind: kindOf(mime),
    mediaId: file.id,
    ...(mime ? { mimeType: mime } : {}),
    ...(file.name || file.title ? { name: (file.name || file.title) as string } : {}),
    ...(file.url_private ? { url: file.url_private } : {}),
    ...(file.size != null ? { sizeBytes: file.size } : {}),
  };
}

function kindOf(mime: string | undefined): MediaAttachment['kind'] {
  if (mime?.startsWith('image/')) return 'image';
  if (mime?.startsWith('audio/')) return 'audio';
  if (mime?.startsWith('video/')) return 'video';
  if (mime === 'application/pdf' || mime?.startsWith('text/') || mime?.includes('officedocument'))
    return 'document';
  return 'file';
}

const mentionPatterns = new Map<string, RegExp>();

/** `<@U…>` or `<@U…|name>` and the blanks after it; compiled once per bot user rather than per message. */
function mentionPattern(botUserId: string): RegExp {
  let pattern = mentionPatterns.get(botUserId);
  if (!pattern) {
    pattern = new RegExp(`<@${escapeRegExp(botUserId)}(?:\\|[^>]*)?>[ \\t]*`, 'g');
    if (mentionPatterns.size > 10_000) mentionPatterns.clear();
    mentionPatterns.set(botUserId, pattern);
  }
  return pattern;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
