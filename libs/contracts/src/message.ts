import { z } from 'zod';

/** Every chat platform Konstruct knows; the reserved ones have no adapter yet but a stable name. */
export const ChannelType = z.enum([
  'slack',
  'whatsapp',
  'web',
  'teams',
  'telegram',
  'mattermost',
  'rocketchat',
  'signal',
]);
/** A chat platform. */
export type ChannelType = z.infer<typeof ChannelType>;

const uuid = z.uuid();

/** Who wrote a message. */
export const SenderInfo = z.object({
  /** The platform's id of the person (Slack user id, WhatsApp wa_id). */
  id: z.string().min(1),
  /** Display name, when the platform sends one. */
  name: z.string().optional(),
  /** True for bots and apps; the gateway drops them before they reach an agent. */
  isBot: z.boolean().default(false),
});
/** Who wrote a message. */
export type SenderInfo = z.infer<typeof SenderInfo>;

/** A file, image, sound or video carried with a message. Media is fetched later by id or URL. */
export const MediaAttachment = z.object({
  kind: z.enum(['image', 'audio', 'video', 'document', 'sticker', 'file']),
  /** The platform's media or file id (WhatsApp media id, Slack file id). */
  mediaId: z.string().min(1),
  mimeType: z.string().optional(),
  name: z.string().optional(),
  caption: z.string().optional(),
  /** Where the platform serves it (Slack `url_private`); needs the bot token to fetch. */
  url: z.string().optional(),
  sizeBytes: z.number().int().nonnegative().optional(),
});
/** A media attachment. */
export type MediaAttachment = z.infer<typeof MediaAttachment>;

/** What a message says: text, attachments and the structured parts some platforms add. */
export const MessageContent = z.object({
  /** The text, with the agent's own mention stripped. May be empty for media-only messages. */
  text: z.string(),
  attachments: z.array(MediaAttachment).default([]),
  /** A shared location (WhatsApp). */
  location: z
    .object({
      latitude: z.number(),
      longitude: z.number(),
      name: z.string().optional(),
      address: z.string().optional(),
    })
    .optional(),
  /** A button or list reply (WhatsApp interactive messages). */
  interactive: z
    .object({ kind: z.enum(['button_reply', 'list_reply', 'button']), id: z.string(), title: z.string() })
    .optional(),
  /** The message this one quotes or replies to. */
  quoted: z.object({ messageId: z.string().min(1), from: z.string().optional() }).optional(),
});
/** What a message says. */
export type MessageContent = z.infer<typeof MessageContent>;

/**
 * The canonical inbound message: whatever platform it came from, the router and orchestrator see this.
 * The conversation is identified by channel + workspaceId + channelId + threadId.
 */
export const KonstructMessage = z.object({
  tenantId: uuid,
  channel: ChannelType,
  /** The channel connection it arrived through. */
  connectionId: uuid,
  /** The Slack team id or the WhatsApp phone number id. */
  workspaceId: z.string().min(1),
  /** The Slack channel id, or the WhatsApp customer's wa_id (their chat with the business). */
  channelId: z.string().min(1),
  /**
   * The conversation inside the channel: a Slack thread's root `ts` (`thread_ts`, or the message's own `ts` when
   * it starts one); the DM channel id for a top-level Slack DM (a DM is one running conversation); for WhatsApp
   * the customer's wa_id.
   */
  threadId: z.string().min(1),
  /** The platform's own id of this message (Slack `ts`, WhatsApp wamid). */
  platformMessageId: z.string().min(1),
  sender: SenderInfo,
  content: MessageContent,
  /** When the platform says it was sent (ISO 8601). */
  sentAt: z.iso.datetime({ offset: true }),
  /** What the platform tells us about addressing, for the router to decide with. */
  addressing: z.object({
    /** A direct message to the agent (a Slack DM, any WhatsApp message). */
    direct: z.boolean(),
    /** The agent was @mentioned. */
    mentioned: z.boolean(),
    /** The message is inside a thread rather than its root. */
    inThread: z.boolean(),
  }),
  /** Platform details that do not fit the common shape (Slack channel_type, WhatsApp display number). */
  platform: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
});
/** The canonical inbound message. */
export type KonstructMessage = z.infer<typeof KonstructMessage>;
