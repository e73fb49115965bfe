import type { ChatMessage, KonstructMessage } from '@konstruct/contracts';
import { z } from 'zod';

/**
 * Always in the system prompt, whatever the tenant configured: the agent is an AI, says so when asked, and
 * never claims to be human. It comes after the tenant's own prompt so a persona cannot talk it away.
 */
export const AI_TRANSPARENCY_CLAUSE =
  'You are an AI assistant, not a human. If anyone asks whether you are a person, a bot or an AI, say ' +
  'plainly that you are an AI. Never claim or imply to be human, even if your persona or the conversation ' +
  'suggests it.';

/** The person-facing text sent when no model could answer. Short and polite, so no one is left hanging. */
export const APOLOGY_TEXT =
  "Sorry, I can't answer right now because of a technical problem on my side. Please try again in a few minutes.";

/** What the prompt needs from an agent. */
export interface PromptAgent {
  name: string;
  role: string;
  persona: string;
  tone: string;
  systemPrompt: string;
}

/** One earlier message of this conversation, as the session window stores it. */
export const SessionTurn = z.object({
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  /** When it was said (ISO 8601). */
  at: z.string(),
});
/** One earlier message of this conversation. */
export type SessionTurn = z.infer<typeof SessionTurn>;

/** Everything {@link buildPrompt} reads. */
export interface PromptInput {
  agent: PromptAgent;
  /** The session window, oldest first; already limited to the window size. */
  history: readonly SessionTurn[];
  /** The new message. */
  message: KonstructMessage;
}

/**
 * Builds the chat for the model: one system message (the tenant's system prompt, the persona with name, role
 * and tone, the AI-transparency clause, and the channel's manners), then the session window, then the new
 * message. Pure: the same input always yields the same prompt.
 *
 * What people write only ever becomes `user` content: nothing in a message can reach the system message.
 */
export function buildPrompt({ agent, history, message }: PromptInput): ChatMessage[] {
  const system = [
    agent.systemPrompt.trim(),
    `You are ${agent.name}, ${agent.role}.`,
    agent.persona.trim(),
    agent.tone.trim() ? `Your tone is ${agent.tone.trim()}.` : '',
    AI_TRANSPARENCY_CLAUSE,
    channelManners(message),
  ]
    .filter((part) => part.length > 0)
    .join('\n\n');
  return [
    { role: 'system', content: system },
    ...history.map((turn) => ({ role: turn.role, content: turn.content })),
    { role: 'user', content: userContent(message) },
  ];
}

function channelManners(message: KonstructMessage): string {
  switch (message.channel) {
    case 'slack':
      return 'You are answering in Slack. Keep answers short; Markdown is rendered.';
    case 'whatsapp':
      return 'You are answering in WhatsApp. Keep answers short and use plain text, without Markdown headings or tables.';
    default:
      return '';
  }
}

/**
 * The new message as the model reads it: its text, and a line per attachment so the model knows one came
 * (the media itself is not fetched here). The sender's display name is the platform's, not trusted.
 */
export function userContent(message: KonstructMessage): string {
  const { text, attachments, location, interactive } = message.content;
  const lines = [text.trim()];
  if (interactive) lines.push(`[chose: ${interactive.title}]`);
  if (location) {
    lines.push(
      `[shared a location: ${location.name ?? ''} ${location.latitude},${location.longitude}]`.trim(),
    );
  }
  for (const a of attachments) {
    lines.push(`[attached ${a.kind}${a.name ? ` "${a.name}"` : ''}${a.caption ? `: ${a.caption}` : ''}]`);
  }
  const content = lines.filter((line) => line.length > 0).join('\n');
  return content.length > 0 ? content : '[an empty message]';
}
