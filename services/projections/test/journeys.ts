import type { KonstructEvent, KonstructMessage } from '@konstruct/contracts';
import { manualClock } from '@konstruct/core';
import { journeyEvents, receipt } from '@konstruct/testkit';

/** What one test journey looks like. */
export interface JourneyOptions {
  tenantId: string;
  agentId: string;
  /** Distinguishes messages; threads are `index % threads`. */
  index: number;
  channel?: 'slack' | 'whatsapp';
  threads?: number;
  /** Epoch ms of the first event. */
  startMs?: number;
  /** Stop after this step. @default 'receipt' */
  until?: 'received' | 'routed' | 'replied' | 'delivered' | 'receipt';
}

/**
 * The events one person's message produces, as the gateway, router, orchestrator and delivery emit them:
 * ingress id as `id` of message.received and `correlationid` of everything after, derived ids for the rest.
 */
export function journey({
  tenantId,
  agentId,
  index,
  channel = 'slack',
  threads = 3,
  startMs = Date.UTC(2026, 10, 26, 9, 0, 0) + index * 1_000,
  until = 'receipt',
}: JourneyOptions): KonstructEvent[] {
  const clock = manualClock(startMs);
  const slack = channel === 'slack';
  const workspaceId = slack ? 'T0ACME0001' : '106540352242922';
  const thread = index % threads;
  const threadId = slack
    ? `1700000000.${String(thread).padStart(6, '0')}`
    : `1650555${String(thread).padStart(4, '0')}`;
  const channelId = slack ? 'C0GENERAL1' : threadId;
  const platformMessageId = slack
    ? `1700000${String(index).padStart(3, '0')}.000100`
    : `wamid.HBgL${tenantId.slice(0, 8)}${index}`;
  const message: KonstructMessage = {
    tenantId,
    channel,
    connectionId: '7d0c2f7e-3f1b-4c8e-9a59-2f4f5e0a1b11',
    workspaceId,
    channelId,
    threadId,
    platformMessageId,
    sender: { id: slack ? 'U0PERSON01' : threadId, name: 'Dana', isBot: false },
    content: { text: `question number ${index}`, attachments: [] },
    sentAt: new Date(startMs - 500).toISOString(),
    addressing: { direct: !slack, mentioned: slack, inThread: false },
    platform: {},
  };
  const ingressId = slack
    ? `slack:${workspaceId}:Ev${tenantId.slice(0, 8)}x${index}`
    : `wa:${workspaceId}:${platformMessageId}`;
  const postedId = slack
    ? `1700001${String(index).padStart(3, '0')}.000200`
    : `wamid.OUT${tenantId.slice(0, 8)}${index}`;
  const events = journeyEvents({
    tenantId,
    agentId,
    message,
    ingressId,
    conversationId: `${channel}:${workspaceId}:${channelId}:${threadId}`,
    reply: {
      text: `answer number ${index}`,
      model: 'llama3.2:3b',
      provider: 'ollama',
      usage: { promptTokens: 100 + index, completionTokens: 20 + index },
      latencyMs: 750.4,
    },
    postedId,
    clock,
    steps: [15, 800, 120],
    until: until === 'receipt' ? 'delivered' : until,
  });
  if (until !== 'receipt' || slack) return events;
  clock.advance(2_000);
  events.push(receipt(tenantId, workspaceId, postedId, 'delivered', clock.now(), threadId));
  return events;
}

/**
 * A small batch of everything the projections read, in stream order: four journeys (Slack and WhatsApp by
 * turns) and two receipts for the second one's reply, the later status arriving first.
 */
export function mixedBatch(tenantId: string, agentId: string): KonstructEvent[] {
  const reply = `wamid.OUT${tenantId.slice(0, 8)}1`;
  return [
    ...[0, 1, 2, 3].flatMap((index) =>
      journey({ tenantId, agentId, index, channel: index % 2 ? 'whatsapp' : 'slack' }),
    ),
    receipt(tenantId, '106540352242922', reply, 'read', Date.UTC(2026, 10, 26, 9, 0, 9)),
    receipt(tenantId, '106540352242922', reply, 'sent', Date.UTC(2026, 10, 26, 9, 0, 3)),
  ];
}
