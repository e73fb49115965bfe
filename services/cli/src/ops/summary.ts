import type { KonstructEvent } from '@konstruct/contracts';

const MAX_TEXT = 60;

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > MAX_TEXT ? `${flat.slice(0, MAX_TEXT - 1)}…` : flat);
}

function short(id: string): string {
  return id.length > 12 ? id.slice(0, 8) : id;
}

/**
 * One line saying what an event is about, for `konstruct events tail`: who wrote what where, what the router
 * decided, what the agent answered with which model, how delivery went. Message text is cut to 60 characters.
 */
export function summarize(event: KonstructEvent): string {
  switch (event.type) {
    case 'message.received': {
      const m = event.data.message;
      return `${m.channel} ${m.channelId} from ${m.sender.name ?? m.sender.id}: ${quote(m.content.text)}`;
    }
    case 'message.routed':
      return `to agent ${short(event.data.agentId)} (${event.data.reason}) in ${event.data.conversationId}`;
    case 'message.rejected':
      return `${event.data.reason}: ${event.data.detail}`;
    case 'agent.replied': {
      const d = event.data;
      const usage = d.usage ? `, ${d.usage.promptTokens}+${d.usage.completionTokens} tokens` : '';
      const latency = d.latencyMs === undefined ? '' : `, ${Math.round(d.latencyMs)} ms`;
      return `${d.kind} by ${d.model ?? '?'}${d.provider ? ` (${d.provider})` : ''}${usage}${latency}: ${quote(d.reply.text)}`;
    }
    case 'agent.failed':
      return `agent ${short(event.data.agentId)} failed: ${event.data.reason}`;
    case 'delivery.succeeded':
      return `${event.data.channel} ${event.data.channelId} posted ${event.data.platformMessageId}`;
    case 'delivery.failed':
      return `${event.data.channel} ${event.data.channelId} failed: ${event.data.reason}`;
    case 'delivery.status':
      return `${event.data.channel} ${event.data.platformMessageId} ${event.data.status}`;
    case 'ingress.unrouted':
      return `${event.data.channel} ${event.data.workspaceId}: ${event.data.reason}`;
    case 'deadletter.recorded':
      return `${event.data.consumer} gave up on ${event.data.originalSubject}#${event.data.streamSequence}: ${event.data.reason}`;
  }
}
