import type { KonstructMessage } from '@konstruct/contracts';
import { WHATSAPP_TEXT_LIMIT } from '@konstruct/platforms';

/** What a person sees in Slack the moment their message is picked up, until the answer replaces it. */
export const PLACEHOLDER_TEXT = '_Thinking…_';

/** Slack's limit for `markdown_text`. */
const SLACK_MARKDOWN_LIMIT = 12_000;
/** Slack truncates `text` beyond this. */
const SLACK_TEXT_LIMIT = 40_000;

/**
 * The thread to answer in: the message's thread in a channel (a mention starts one under the message itself),
 * and no thread for a top-level direct message, where people expect the answer inline like a chat.
 */
export function slackThreadTs(message: KonstructMessage): string | undefined {
  return message.addressing.direct && !message.addressing.inThread ? undefined : message.threadId;
}

/** Whether answering here should keep the thread engaged (a Slack thread in a channel, not a DM). */
export function engagesThread(message: KonstructMessage): boolean {
  return message.channel === 'slack' && slackThreadTs(message) !== undefined && !message.addressing.direct;
}

/**
 * The content of a Slack answer. Models write Markdown, which Slack renders from `markdown_text` (up to
 * 12,000 characters); a longer answer goes as `text`, cut to what Slack keeps.
 */
export function slackContent(answer: string): { markdown_text: string } | { text: string } {
  if (answer.length <= SLACK_MARKDOWN_LIMIT) return { markdown_text: answer };
  return { text: cut(answer, SLACK_TEXT_LIMIT) };
}

/** A WhatsApp text body: the answer, cut to the Cloud API's 4,096 characters with an ellipsis if longer. */
export function whatsappBody(answer: string): string {
  return cut(answer, WHATSAPP_TEXT_LIMIT);
}

function cut(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
