import type { DataOf, KonstructMessage, MessageContent } from '@konstruct/contracts';
import { z } from 'zod';
import type { Connection } from '../connections.ts';

const UnixSeconds = z.string().regex(/^\d{1,12}$/, 'a timestamp is Unix seconds');

const Media = z.looseObject({
  id: z.string().min(1),
  mime_type: z.string().optional(),
  caption: z.string().optional(),
  filename: z.string().optional(),
});

/** One inbound WhatsApp message, as the Cloud API sends it. */
export const WhatsAppMessage = z.looseObject({
  from: z.string().min(1),
  id: z.string().min(1).max(300),
  timestamp: UnixSeconds,
  type: z.string().min(1),
  text: z.looseObject({ body: z.string() }).optional(),
  image: Media.optional(),
  audio: Media.optional(),
  video: Media.optional(),
  document: Media.optional(),
  sticker: Media.optional(),
  interactive: z
    .looseObject({
      type: z.string(),
      button_reply: z.looseObject({ id: z.string(), title: z.string() }).optional(),
      list_reply: z.looseObject({ id: z.string(), title: z.string() }).optional(),
    })
    .optional(),
  button: z.looseObject({ text: z.string(), payload: z.string().optional() }).optional(),
  location: z
    .looseObject({
      latitude: z.number(),
      longitude: z.number(),
      name: z.string().optional(),
      address: z.string().optional(),
    })
    .optional(),
  context: z.looseObject({ from: z.string().optional(), id: z.string().min(1).optional() }).optional(),
});
/** One inbound WhatsApp message. */
export type WhatsAppMessage = z.infer<typeof WhatsAppMessage>;

/** A receipt for a message the business sent. */
export const WhatsAppStatus = z.looseObject({
  id: z.string().min(1).max(300),
  status: z.string().min(1),
  timestamp: UnixSeconds,
  recipient_id: z.string().min(1),
  errors: z.array(z.looseObject({ code: z.number().optional(), title: z.string().optional() })).optional(),
});

/** The `value` of a `messages` change: one phone number's messages and statuses. */
export const WhatsAppValue = z.looseObject({
  metadata: z.looseObject({
    phone_number_id: z.string().regex(/^\d{1,30}$/, 'a phone_number_id is digits'),
    display_phone_number: z.string().optional(),
  }),
  contacts: z
    .array(
      z.looseObject({
        wa_id: z.string(),
        profile: z.looseObject({ name: z.string().optional() }).optional(),
      }),
    )
    .optional(),
  messages: z.array(WhatsAppMessage).optional(),
  statuses: z.array(WhatsAppStatus).optional(),
});
/** The `value` of a `messages` change. */
export type WhatsAppValue = z.infer<typeof WhatsAppValue>;

/** A Cloud API webhook: entries of changes; only `messages` changes are read, their value by {@link WhatsAppValue}. */
export const WhatsAppWebhook = z.looseObject({
  object: z.literal('whatsapp_business_account'),
  entry: z.array(
    z.looseObject({
      id: z.string().optional(),
      changes: z.array(z.looseObject({ field: z.string(), value: z.unknown() })),
    }),
  ),
});

/**
 * The phone number ids a webhook names, read from the unverified body only to choose the signing secret(s).
 * Ids that are not digits are left out so garbage never reaches the database.
 */
export function whatsAppPhoneNumberIds(body: unknown): string[] {
  const out: string[] = [];
  const entries = (body as { entry?: unknown } | null)?.entry;
  if (!Array.isArray(entries)) return out;
  for (const entry of entries) {
    const changes = (entry as { changes?: unknown } | null)?.changes;
    if (!Array.isArray(changes)) continue;
    for (const change of changes) {
      const id = (change as { value?: { metadata?: { phone_number_id?: unknown } } } | null)?.value?.metadata
        ?.phone_number_id;
      if (typeof id === 'string' && /^\d{1,30}$/.test(id) && !out.includes(id)) out.push(id);
    }
  }
  return out;
}

/** The platform id of an inbound message: `wa:<phone_number_id>:<wamid>`. */
export function whatsAppMessageEventId(phoneNumberId: string, wamid: string): string {
  return `wa:${phoneNumberId}:${wamid}`;
}

/** The platform id of a receipt: `wa:<phone_number_id>:<wamid>:<status>`, one per status a message reaches. */
export function whatsAppStatusEventId(phoneNumberId: string, wamid: string, status: string): string {
  return `wa:${phoneNumberId}:${wamid}:${status}`;
}

const STATUSES = ['sent', 'delivered', 'read', 'failed', 'deleted', 'warning'] as const;
type KnownStatus = (typeof STATUSES)[number];

/** What one item of a change becomes. */
export type WhatsAppItem =
  | { kind: 'message'; eventId: string; message: KonstructMessage }
  | { kind: 'status'; eventId: string; data: DataOf<'delivery.status'> }
  | { kind: 'skip'; platformId: string; reason: string };

/**
 * Turns one `messages` change of a connected phone number into its items, pure: every message its own
 * {@link KonstructMessage} (text, media with id, mime type and caption, interactive replies, location, the
 * quoted message), every receipt a `delivery.status`. Message types the platform adds later still become
 * messages, with empty text and their type in `platform.type`, so the router can refuse them as unsupported
 * rather than have them vanish; a receipt status this build does not know is skipped with its reason.
 */
export function decideWhatsAppChange(value: WhatsAppValue, connection: Connection): WhatsAppItem[] {
  const phoneNumberId = value.metadata.phone_number_id;
  const items: WhatsAppItem[] = [];
  for (const m of value.messages ?? []) {
    const name = value.contacts?.find((c) => c.wa_id === m.from)?.profile?.name;
    const platform: Record<string, string> = { type: m.type };
    if (value.metadata.display_phone_number)
      platform.displayPhoneNumber = value.metadata.display_phone_number;
    items.push({
      kind: 'message',
      eventId: whatsAppMessageEventId(phoneNumberId, m.id),
      message: {
        tenantId: connection.tenantId,
        channel: 'whatsapp',
        connectionId: connection.connectionId,
        workspaceId: phoneNumberId,
        // a WhatsApp chat is the customer's number: one conversation, one thread
        channelId: m.from,
        threadId: m.from,
        platformMessageId: m.id,
        sender: { id: m.from, ...(name ? { name } : {}), isBot: false },
        content: contentOf(m),
        sentAt: new Date(Number(m.timestamp) * 1000).toISOString(),
        addressing: { direct: true, mentioned: false, inThread: false },
        platform,
      },
    });
  }
  for (const s of value.statuses ?? []) {
    if (!(STATUSES as readonly string[]).includes(s.status)) {
      items.push({
        kind: 'skip',
        platformId: whatsAppStatusEventId(phoneNumberId, s.id, s.status),
        reason: `status ${JSON.stringify(s.status)} is not one this build knows`,
      });
      continue;
    }
    items.push({
      kind: 'status',
      eventId: whatsAppStatusEventId(phoneNumberId, s.id, s.status),
      data: {
        channel: 'whatsapp',
        workspaceId: phoneNumberId,
        platformMessageId: s.id,
        status: s.status as KnownStatus,
        recipientId: s.recipient_id,
        at: new Date(Number(s.timestamp) * 1000).toISOString(),
        errors: (s.errors ?? []).map((e) => ({
          ...(e.code !== undefined ? { code: e.code } : {}),
          ...(e.title !== undefined ? { title: e.title } : {}),
        })),
      },
    });
  }
  return items;
}

/** The platform ids of every item in a change, for an `ingress.unrouted` per item when no tenant has the number. */
export function whatsAppPlatformIds(value: WhatsAppValue): string[] {
  const phoneNumberId = value.metadata.phone_number_id;
  return [
    ...(value.messages ?? []).map((m) => whatsAppMessageEventId(phoneNumberId, m.id)),
    ...(value.statuses ?? []).map((s) => whatsAppStatusEventId(phoneNumberId, s.id, s.status)),
  ];
}

function contentOf(m: WhatsAppMessage): MessageContent {
  const content: MessageContent = { text: '', attachments: [] };
  if (m.context?.id) {
    content.quoted = { messageId: m.context.id, ...(m.context.from ? { from: m.context.from } : {}) };
  }
  switch (m.type) {
    case 'text':
      content.text = m.text?.body ?? '';
      break;
    case 'image':
    case 'audio':
    case 'video':
    case 'document':
    case 'sticker': {
      const media = m[m.type];
      if (media) {
        content.attachments.push({
          kind: m.type,
          mediaId: media.id,
          ...(media.mime_type ? { mimeType: media.mime_type } : {}),
          ...(media.caption ? { caption: media.caption } : {}),
          ...(media.filename ? { name: media.filename } : {}),
        });
        content.text = media.caption ?? '';
      }
      break;
    }
    case 'interactive': {
      const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
      if (reply) {
        content.interactive = {
          kind: m.interactive?.button_reply ? 'button_reply' : 'list_reply',
          id: reply.id,
          title: reply.title,
        };
        content.text = reply.title;
      }
      break;
    }
    case 'button':
      if (m.button) {
        content.interactive = { kind: 'button', id: m.button.payload ?? m.button.text, title: m.button.text };
        content.text = m.button.text;
      }
      break;
    case 'location':
      if (m.location) {
        content.location = {
          latitude: m.location.latitude,
          longitude: m.location.longitude,
          ...(m.location.name ? { name: m.location.name } : {}),
          ...(m.location.address ? { address: m.location.address } : {}),
        };
        content.text = m.location.name ?? '';
      }
      break;
  }
  return content;
}
