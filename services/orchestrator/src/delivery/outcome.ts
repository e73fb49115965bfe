import type { HandlerContext, Publisher } from '@konstruct/bus';
import {
  createEvent,
  derivedEventId,
  type KonstructEvent,
  type KonstructMessage,
  parseEvent,
} from '@konstruct/contracts';
import {
  type Clock,
  describeError,
  type IdGenerator,
  UnavailableError,
  ValidationError,
} from '@konstruct/core';
import { GraphApiError, SlackApiError } from '@konstruct/platforms';
import type { Redis } from 'ioredis';
import { withLease } from '../lease.ts';

/** What happened when we tried to put something in front of a person. */
export type DeliveryResult =
  | { ok: true; platformMessageId: string; response: Record<string, unknown> }
  | { ok: false; reason: string; response: Record<string, unknown> };

/**
 * Turns a platform error into a failed delivery an operator can act on, or `undefined` when the error is
 * worth another try (the caller rethrows it). Slack's error string and Graph's code are kept.
 */
export function failureOf(error: unknown): DeliveryResult | undefined {
  if (error instanceof SlackApiError) {
    const hint = error.isAuthError
      ? " (the connection's bot token was refused; reconnect the workspace)"
      : '';
    return {
      ok: false,
      reason: `slack: ${error.error}${hint}`,
      response: { error: error.error, method: error.method },
    };
  }
  if (error instanceof GraphApiError) {
    const hint = error.isAuthError ? " (the connection's access token was refused; renew it)" : '';
    return {
      ok: false,
      reason: `${error.message}${hint}`,
      response: {
        status: error.status,
        ...(error.graphCode === undefined ? {} : { code: error.graphCode }),
        ...(error.subcode === undefined ? {} : { subcode: error.subcode }),
        ...(error.fbtraceId === undefined ? {} : { fbtrace_id: error.fbtraceId }),
      },
    };
  }
  if (error instanceof ValidationError) return { ok: false, reason: error.message, response: {} };
  return undefined;
}

/** Dependencies of {@link deliverOnce}. */
export interface DeliverOnceDeps {
  redis: Redis;
  publisher: Publisher;
  /** How long an outcome is remembered; at least the stream's duplicate window. */
  ttlMs: number;
  maxDeliver: number;
  clock: Clock;
  ids: IdGenerator;
}

/** One delivery to run at most once. */
export interface DeliveryJob {
  /** The event being delivered (an `agent.replied`, or a `message.rejected` for a notice). */
  cause: KonstructEvent & { tenantid: string };
  /** The message answered: where the delivery goes. */
  message: KonstructMessage;
  /** The Redis key remembering the outcome. */
  guard: string;
  /** The Redis key of the lease held while the platform is called. */
  lease: string;
  /** Does the platform call; throws platform errors as the clients type them. */
  attempt(): Promise<DeliveryResult>;
}

/**
 * Runs a delivery at most once per cause: an outcome already remembered is re-published (JetStream drops the
 * duplicate) without touching the platform; otherwise, under a lease so that two copies of the event never
 * call the platform at the same time, the attempt runs, and its outcome is remembered and
 * published as `delivery.succeeded` or `delivery.failed`, with ids derived from the cause. Errors worth
 * another try are rethrown so the runner naks, until the last delivery, which records a failure instead.
 */
export async function deliverOnce(
  deps: DeliverOnceDeps,
  job: DeliveryJob,
  context: HandlerContext,
): Promise<{ result: DeliveryResult | undefined; replayed: boolean }> {
  const { redis } = deps;
  const replay = async (): Promise<boolean> => {
    const earlier = await redis.get(job.guard);
    if (earlier === null) return false;
    await deps.publisher.publish(parseEvent(JSON.parse(earlier)));
    return true;
  };
  if (await replay()) return { result: undefined, replayed: true };
  return withLease(
    redis,
    job.lease,
    async () => {
      // whoever held the lease before us may have finished the job meanwhile
      if (await replay()) return { result: undefined, replayed: true };
      return { result: await attemptAndRecord(deps, job, context), replayed: false };
    },
    // a platform call takes seconds at most: wait for a concurrent copy rather than burn a delivery
    { waitMs: 30_000, signal: context.signal },
  );
}

async function attemptAndRecord(
  deps: DeliverOnceDeps,
  job: DeliveryJob,
  context: HandlerContext,
): Promise<DeliveryResult> {
  const { redis, publisher, ttlMs, maxDeliver, clock, ids } = deps;
  let result: DeliveryResult;
  try {
    result = await job.attempt();
  } catch (error) {
    const failed = failureOf(error);
    if (failed) {
      result = failed;
    } else if (
      error instanceof UnavailableError &&
      !context.signal.aborted &&
      context.deliveryCount >= maxDeliver
    ) {
      result = {
        ok: false,
        reason: `gave up after ${context.deliveryCount} deliveries: ${describeError(error)}`,
        response: {},
      };
    } else {
      throw error;
    }
  }
  const event = outcomeEvent(job, result, { clock, ids });
  const stored = await redis.set(job.guard, JSON.stringify(event), 'PX', ttlMs, 'NX');
  const counted =
    stored === 'OK' ? event : parseEvent(JSON.parse((await redis.get(job.guard)) ?? JSON.stringify(event)));
  await publisher.publish(counted);
  return result;
}

function outcomeEvent(
  { cause, message }: DeliveryJob,
  result: DeliveryResult,
  deps: { clock: Clock; ids: IdGenerator },
): KonstructEvent {
  const target = {
    channel: message.channel,
    workspaceId: message.workspaceId,
    channelId: message.channelId,
    threadId: message.threadId,
    replyEventId: cause.id,
  };
  const common = {
    source: '/konstruct/delivery',
    tenantId: cause.tenantid,
    correlationId: cause.correlationid,
    causationId: cause.id,
    ...(cause.subject === undefined ? {} : { subject: cause.subject }),
  };
  return result.ok
    ? createEvent(
        {
          ...common,
          type: 'delivery.succeeded',
          id: derivedEventId(cause.id, 'delivery.succeeded'),
          data: { ...target, platformMessageId: result.platformMessageId, response: result.response },
        },
        deps,
      )
    : createEvent(
        {
          ...common,
          type: 'delivery.failed',
          id: derivedEventId(cause.id, 'delivery.failed'),
          data: { ...target, reason: result.reason, response: result.response },
        },
        deps,
      );
}
