import type { EventHandler, HandlerContext, Publisher } from '@konstruct/bus';
import {
  type CompletionResponse,
  createEvent,
  derivedEventId,
  type EventOf,
  type KonstructEvent,
  parseEvent,
  tenantMessage,
} from '@konstruct/contracts';
import {
  type Clock,
  describeError,
  type IdGenerator,
  NotFoundError,
  randomIds,
  systemClock,
  UnavailableError,
} from '@konstruct/core';
import { type AgentView, type Database, getAgent } from '@konstruct/db';
import type { Redis } from 'ioredis';
import type { PlatformLinks } from '../delivery/connections.ts';
import type { SlackThreadWriter } from '../delivery/placeholder.ts';
import { guardKey } from '../keys.ts';
import { withLease } from '../lease.ts';
import { type LlmAttempt, LlmGaveUpError, type LlmPoolClient } from './llm.ts';
import { APOLOGY_TEXT, buildPrompt, type SessionTurn, userContent } from './prompt.ts';
import type { SessionStore } from './session.ts';

const SOURCE = '/konstruct/orchestrator';

/** Dependencies of {@link createReplyHandler}. */
export interface ReplyHandlerDeps {
  orm: Database;
  /** Holds the lease on each routed message while it is handled. */
  redis: Redis;
  publisher: Publisher;
  sessions: SessionStore;
  llm: LlmPoolClient;
  links: PlatformLinks;
  slackThreads: SlackThreadWriter;
  /** The consumer's max deliveries: on the last one, a pool that still cannot be reached yields an apology. */
  maxDeliver: number;
  /**
   * How long a second copy of a routed message waits for the first to finish before it is retried later;
   * about the longest a model call takes. @default 150_000
   */
  leaseWaitMs?: number;
  /** @default systemClock */
  clock?: Clock;
  /** @default randomIds */
  ids?: IdGenerator;
}

/** How a routed message ended: the model answered, or we apologise and say why. */
type Outcome =
  | { kind: 'answer'; agent: AgentView; completion: CompletionResponse }
  | { kind: 'apology'; agentId: string; reason: string; attempts: LlmAttempt[] };

/**
 * Handles `message.routed`: posts the Slack "thinking" placeholder, loads the agent under its tenant, builds
 * the prompt with this conversation's session window, asks the llm-pool, and publishes `agent.replied`
 * (and `agent.failed` before an apology). The outcome is stored once in Redis together with the session turn
 * before it is published, so a redelivered routed message — after a crash, a nak, a restart — re-publishes
 * the same events (JetStream drops them as duplicates) instead of asking the model again.
 *
 * Retries: a pool that cannot be reached, times out, or is saturated is retried by the runner with backoff,
 * and on the last delivery gives up with an apology; a pool that answered "every model failed" or refused the
 * request, or an agent that no longer exists, gives up at once.
 */
export function createReplyHandler(deps: ReplyHandlerDeps): EventHandler {
  const {
    orm,
    redis,
    publisher,
    sessions,
    llm,
    links,
    slackThreads,
    maxDeliver,
    leaseWaitMs = 150_000,
  } = deps;
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? randomIds;

  async function decide(routed: EventOf<'message.routed'>, context: HandlerContext): Promise<Outcome> {
    const { message, agentId, conversationId } = routed.data;
    let agent: AgentView;
    try {
      agent = await getAgent(orm, message.tenantId, agentId);
    } catch (error) {
      if (error instanceof NotFoundError) {
        return { kind: 'apology', agentId, reason: `agent ${agentId} no longer exists`, attempts: [] };
      }
      throw new UnavailableError(`cannot load agent: ${describeError(error)}`, { cause: error });
    }
    const history = await sessions.window(message.tenantId, conversationId);
    const messages = buildPrompt({ agent, history, message });
    try {
      const completion = await llm.complete(
        {
          tenantId: message.tenantId,
          agentId: agent.id,
          modelGroup: agent.modelGroup,
          messages,
          correlationId: routed.correlationid,
        },
        context.signal,
      );
      if (completion.content.trim().length === 0) {
        return {
          kind: 'apology',
          agentId,
          reason: `${completion.provider}/${completion.model} returned an empty answer`,
          attempts: completion.attempts,
        };
      }
      return { kind: 'answer', agent, completion };
    } catch (error) {
      if (error instanceof LlmGaveUpError) {
        return { kind: 'apology', agentId, reason: error.message, attempts: [...error.attempts] };
      }
      // stopping: leave the message for the next process rather than apologise for our own shutdown
      if (context.signal.aborted || context.deliveryCount < maxDeliver) throw error;
      return {
        kind: 'apology',
        agentId,
        reason: `llm-pool still failing after ${context.deliveryCount} deliveries: ${describeError(error)}`,
        attempts: [],
      };
    }
  }

  function eventsOf(routed: EventOf<'message.routed'>, outcome: Outcome): KonstructEvent[] {
    const { message, conversationId } = routed.data;
    const common = {
      source: SOURCE,
      tenantId: message.tenantId,
      correlationId: routed.correlationid,
      causationId: routed.id,
      subject: conversationId,
    };
    const base = { conversationId, inReplyTo: routed.id };
    if (outcome.kind === 'answer') {
      const { completion } = outcome;
      return [
        createEvent(
          {
            ...common,
            type: 'agent.replied',
            id: derivedEventId(routed.id, 'agent.replied'),
            data: {
              ...base,
              agentId: outcome.agent.id,
              message,
              reply: { text: completion.content },
              kind: 'answer',
              model: completion.model,
              provider: completion.provider,
              usage: completion.usage,
              latencyMs: completion.latencyMs,
            },
          },
          { clock, ids },
        ),
      ];
    }
    return [
      createEvent(
        {
          ...common,
          type: 'agent.failed',
          id: derivedEventId(routed.id, 'agent.failed'),
          data: { ...base, agentId: outcome.agentId, reason: outcome.reason, attempts: outcome.attempts },
        },
        { clock, ids },
      ),
      createEvent(
        {
          ...common,
          type: 'agent.replied',
          id: derivedEventId(routed.id, 'agent.replied'),
          data: {
            ...base,
            agentId: outcome.agentId,
            message,
            reply: { text: APOLOGY_TEXT },
            kind: 'apology',
          },
        },
        { clock, ids },
      ),
    ];
  }

  function turnsOf(routed: EventOf<'message.routed'>, outcome: Outcome): SessionTurn[] {
    // an apology is not part of the conversation: the next prompt should not learn to apologise
    if (outcome.kind !== 'answer') return [];
    const { message } = routed.data;
    return [
      { role: 'user', content: userContent(message), at: message.sentAt },
      { role: 'assistant', content: outcome.completion.content, at: new Date(clock.now()).toISOString() },
    ];
  }

  async function showPlaceholder(routed: EventOf<'message.routed'>, context: HandlerContext): Promise<void> {
    const { message } = routed.data;
    if (message.channel !== 'slack') return;
    try {
      const link = await links.linkFor(message);
      if (link.kind !== 'slack') return; // delivery reports the misconfiguration with the answer
      await slackThreads.placeholder(link.client, routed.id, message);
    } catch (error) {
      // the placeholder is a courtesy: without it the answer is posted as a new message
      context.logger.warn({ err: error }, 'thinking placeholder not posted');
    }
  }

  async function publishAll(events: KonstructEvent[]): Promise<boolean> {
    let duplicate = true;
    for (const event of events) duplicate = (await publisher.publish(event)).duplicate && duplicate;
    return duplicate;
  }

  return async (event, context) => {
    if (event.type !== 'message.routed') return;
    const message = tenantMessage(event);
    const outcomeKey = guardKey(message.tenantId, 'reply', event.id);
    const replay = async (): Promise<boolean> => {
      const earlier = await sessions.recall(outcomeKey);
      if (earlier === undefined) return false;
      const duplicate = await publishAll((JSON.parse(earlier) as unknown[]).map(parseEvent));
      context.logger.info({ replayed: true, duplicate }, 'reply already decided; re-published');
      return true;
    };
    if (await replay()) return;
    // one handler per routed message at a time, renewed through the model call: a second copy of the event
    // waits instead of posting a second placeholder or asking the model twice
    await withLease(
      redis,
      guardKey(message.tenantId, 'lease', `reply:${event.id}`),
      async () => {
        if (await replay()) return;
        await reply(event, outcomeKey, context);
      },
      { waitMs: leaseWaitMs, signal: context.signal },
    );
  };

  async function reply(
    event: EventOf<'message.routed'>,
    outcomeKey: string,
    context: HandlerContext,
  ): Promise<void> {
    const { message, conversationId } = event.data;
    await showPlaceholder(event, context);
    const started = clock.now();
    const outcome = await decide(event, context);
    const stored = await sessions.commit({
      outcomeKey,
      outcome: JSON.stringify(eventsOf(event, outcome)),
      tenantId: message.tenantId,
      conversationId,
      turns: turnsOf(event, outcome),
    });
    // a concurrent delivery of the same routed message may have stored first: publish what counts
    const events = (JSON.parse(stored) as unknown[]).map(parseEvent);
    await publishAll(events);
    if (outcome.kind === 'answer') {
      const { completion } = outcome;
      context.logger.info(
        {
          kind: 'answer',
          agentId: outcome.agent.id,
          provider: completion.provider,
          model: completion.model,
          usage: completion.usage,
          modelLatencyMs: completion.latencyMs,
          totalMs: clock.now() - started,
        },
        'agent replied',
      );
    } else {
      context.logger.warn({ kind: 'apology', reason: outcome.reason }, 'agent failed; apology sent');
    }
  }
}
