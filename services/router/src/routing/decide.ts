import type { KonstructMessage, RejectionReason } from '@konstruct/contracts';

/** Why a message reaches the agent: a DM (every WhatsApp message), an @mention, or an engaged thread. */
export type RouteReason = 'direct' | 'mention' | 'engaged_thread';

/** An agent as the router sees it. */
export interface AgentRef {
  id: string;
  name: string;
  active: boolean;
}

/** What the router knows about a tenant and its channel connection when it decides. */
export interface Directory {
  /** The tenant's slug, for details an operator can act on. */
  tenantSlug: string;
  /** The connection the message came through; `undefined` when it no longer exists. */
  connection:
    | {
        enabled: boolean;
        /** The agent assigned to the connection, if any. */
        agent: AgentRef | undefined;
      }
    | undefined;
  /** The tenant's active agents, the fallback when the connection names none. */
  activeAgents: readonly AgentRef[];
}

/** The token bucket's answer for one message. */
export type RateVerdict =
  | { allowed: true }
  | {
      allowed: false;
      /** This message is the one that tells the person, once per window. */
      notified: boolean;
      /** When the bucket holds a whole token again. */
      retryAfterMs: number;
      limit: number;
      windowMs: number;
    };

/** Everything {@link decide} needs, gathered by the adapter; nothing here does I/O. */
export interface RoutingState extends Directory {
  /** The thread's engaged key exists (the agent was mentioned or replied there recently). */
  engaged: boolean;
  rate: RateVerdict;
}

/** The message goes to the agent. */
export interface Routed {
  kind: 'routed';
  agentId: string;
  reason: RouteReason;
  /** Set or refresh the thread's engaged key, so follow-ups without a mention reach the agent. */
  engageThread: boolean;
}

/** The message stops here, with a reason and a line an operator can act on. */
export interface Rejected {
  kind: 'rejected';
  reason: RejectionReason;
  detail: string;
  /** The person is told (rate limits, once per window). */
  notified: boolean;
}

/** What the router does with a message. */
export type Decision = Routed | Rejected;

/** The message would go to this agent, if the rate allows. */
export interface Admitted {
  kind: 'admitted';
  agentId: string;
  reason: RouteReason;
  engageThread: boolean;
}

function rejected(reason: RejectionReason, detail: string): Rejected {
  return { kind: 'rejected', reason, detail, notified: false };
}

/**
 * Whether the agent is addressed: WhatsApp is a one-to-one chat with the business, so every customer message
 * is; on Slack a DM, an @mention, or a message inside a thread the agent is engaged in.
 */
export function addressing(message: KonstructMessage, engaged: boolean): RouteReason | undefined {
  if (message.channel === 'whatsapp' || message.addressing.direct) return 'direct';
  if (message.addressing.mentioned) return 'mention';
  if (message.addressing.inThread && engaged) return 'engaged_thread';
  return undefined;
}

/** Picks the agent: the connection's own if it has one, else the tenant's only active agent. */
function chooseAgent(directory: Directory): { agentId: string } | Rejected {
  const { tenantSlug, connection, activeAgents } = directory;
  const assigned = connection?.agent;
  if (assigned) {
    if (assigned.active) return { agentId: assigned.id };
    return rejected(
      'agent_inactive',
      `agent ${assigned.name} (${assigned.id}) assigned to this connection of tenant ${tenantSlug} is inactive; ` +
        'activate it or connect the channel with --agent <id> of an active agent',
    );
  }
  const only = activeAgents[0];
  if (activeAgents.length === 1 && only) return { agentId: only.id };
  if (activeAgents.length === 0) {
    return rejected(
      'no_agent',
      `tenant ${tenantSlug} has no active agent; run konstruct agent create --tenant ${tenantSlug} --name <name> --role <role>`,
    );
  }
  return rejected(
    'no_agent',
    `tenant ${tenantSlug} has ${activeAgents.length} active agents and this connection names none; ` +
      'connect the channel with --agent <id> to choose one',
  );
}

/**
 * Everything but the rate: is the agent addressed, is the connection enabled, which agent answers. The
 * adapter calls this first and takes a rate-limit token only for a message that is admitted, so channel
 * chatter and misconfigured tenants never use up a channel's budget.
 */
export function admit(state: Omit<RoutingState, 'rate'>, message: KonstructMessage): Admitted | Rejected {
  const reason = addressing(message, state.engaged);
  if (!reason) {
    return rejected(
      'not_addressed',
      'not a direct message, no mention of the agent, and not in a thread the agent is engaged in',
    );
  }
  if (!state.connection) {
    return rejected(
      'connection_disabled',
      `the ${message.channel} connection ${message.connectionId} of tenant ${state.tenantSlug} no longer exists; reconnect the channel`,
    );
  }
  if (!state.connection.enabled) {
    return rejected(
      'connection_disabled',
      `the ${message.channel} connection ${message.connectionId} of tenant ${state.tenantSlug} is disabled`,
    );
  }
  const agent = chooseAgent(state);
  if ('kind' in agent) return agent;
  return {
    kind: 'admitted',
    agentId: agent.agentId,
    reason,
    // a Slack thread the agent answers in stays engaged; DMs and WhatsApp chats are addressed anyway
    engageThread: message.channel === 'slack' && reason !== 'direct',
  };
}

/**
 * Decides what happens to an inbound message: routed to an agent, or rejected with a reason. The rate is
 * consulted last, so a rejection for any other reason does not depend on it. `now` (ms) dates the moment
 * a rate-limited channel accepts messages again.
 */
export function decide(state: RoutingState, message: KonstructMessage, now: number): Decision {
  const admission = admit(state, message);
  if (admission.kind === 'rejected') return admission;
  const { rate } = state;
  if (!rate.allowed) {
    const next = new Date(now + rate.retryAfterMs).toISOString();
    return {
      kind: 'rejected',
      reason: 'rate_limited',
      detail:
        `${rate.limit} messages per ${Math.round(rate.windowMs / 1000)} s reached on ${message.channel} channel ` +
        `${message.channelId} of tenant ${state.tenantSlug}; the next message is accepted from ${next}`,
      notified: rate.notified,
    };
  }
  return {
    kind: 'routed',
    agentId: admission.agentId,
    reason: admission.reason,
    engageThread: admission.engageThread,
  };
}
