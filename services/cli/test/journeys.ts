import { randomUUID } from 'node:crypto';
import type { KonstructEvent, KonstructMessage } from '@konstruct/contracts';
import type { Clock } from '@konstruct/core';
import { conversationId } from '@konstruct/names';
import { journeyEvents } from '@konstruct/testkit';

/** What a journey is for. */
export interface JourneyOptions {
  tenantId: string;
  agentId: string;
  connectionId: string;
  /** Sets each event's time (the caller moves it on between journeys). */
  clock: Clock & { advance(ms: number): void };
  /** Its number, to vary threads, senders and text. */
  n: number;
}

const WORDS = ['invoice', 'refund', 'shipping', 'password', 'upgrade', 'contract', 'meeting', 'report'];

/**
 * One message's realistic journey through the pipeline: `message.received` (Slack or WhatsApp), then
 * `message.routed`, `agent.replied` with token usage and `delivery.succeeded`, with the derived ids and the
 * correlation and causation ids the services use. Every fourth message is WhatsApp; five consecutive journeys
 * share a thread, so conversations hold several messages.
 */
export function journey({ tenantId, agentId, connectionId, clock, n }: JourneyOptions): KonstructEvent[] {
  const whatsapp = n % 4 === 3;
  // five messages per conversation, as a support thread goes: conversations stay small however long the history
  const thread = Math.floor(n / 5);
  const channel = whatsapp ? 'whatsapp' : 'slack';
  const workspaceId = whatsapp ? '106540352242922' : 'T0ACME0001';
  const channelId = whatsapp ? `1650555${String(1000 + thread)}` : 'C0GENERAL1';
  const threadId = whatsapp ? channelId : `1764151200.${String(thread).padStart(6, '0')}`;
  const receivedId = whatsapp
    ? `wa:${workspaceId}:wamid.${randomUUID()}`
    : `slack:${workspaceId}:Ev${randomUUID()}`;
  const message: KonstructMessage = {
    tenantId,
    channel,
    connectionId,
    workspaceId,
    channelId,
    threadId,
    platformMessageId: whatsapp ? `wamid.${n}` : `1764151200.${String(n).padStart(6, '0')}`,
    sender: { id: whatsapp ? channelId : `U0PERSON${n % 7}`, name: `Person ${n % 7}`, isBot: false },
    content: { text: `Hi Mara, question ${n} about the ${WORDS[n % WORDS.length]} please`, attachments: [] },
    sentAt: new Date(clock.now()).toISOString(),
    addressing: { direct: whatsapp, mentioned: !whatsapp, inThread: false },
    platform: {},
  };
  return journeyEvents({
    tenantId,
    agentId,
    message,
    ingressId: receivedId,
    conversationId: conversationId(message),
    reason: whatsapp ? 'direct' : 'mention',
    reply: {
      text: `Happy to help with the ${WORDS[n % WORDS.length]}: here is what I found for question ${n}.`,
      model: 'llama3.2:3b',
      provider: 'ollama-local',
      usage: { promptTokens: 180 + (n % 40), completionTokens: 40 + (n % 25) },
      latencyMs: 600 + (n % 300),
    },
    postedId: whatsapp ? `wamid.out.${n}` : `1764151300.${String(n).padStart(6, '0')}`,
    clock,
  });
}
