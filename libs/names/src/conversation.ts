import { createHash } from 'node:crypto';

/** What identifies a conversation: the platform, the workspace, the channel and the thread. */
export interface ConversationAddress {
  channel: string;
  workspaceId: string;
  channelId: string;
  threadId: string;
}

// The parts are platform ids (Slack team/channel ids and `ts`, WhatsApp phone number ids and wa_ids), which
// never hold "/". Anything else falls back to a hash, so the id always fits a Redis key discriminator.
const SAFE_PART = /^[A-Za-z0-9._=+@-]+$/;
const MAX_LENGTH = 200;

/**
 * The stable id of a conversation: `<channel>/<workspaceId>/<channelId>/<threadId>`, e.g.
 * `slack/T0ACME0001/C0GENERAL1/1764151200.000100`. The router puts it on `message.routed`; the orchestrator
 * keys the session window with it ({@link sessionKey}) and the projections store it, so all compute the same
 * value from the same message. A part with an unusual character (or an id longer than 200 characters)
 * yields `h/<sha256 hex>` of the parts instead, which is just as stable and still fits a key.
 */
export function conversationId({ channel, workspaceId, channelId, threadId }: ConversationAddress): string {
  const parts = [channel, workspaceId, channelId, threadId];
  const readable = parts.join('/');
  if (parts.every((part) => SAFE_PART.test(part)) && readable.length <= MAX_LENGTH) return readable;
  return `h/${createHash('sha256').update(JSON.stringify(parts)).digest('hex')}`;
}
