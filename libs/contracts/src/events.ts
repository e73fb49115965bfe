import { z } from 'zod';
import { ChannelType, KonstructMessage } from './message.ts';

/** The schema version every event type is written at today; readers accept the versions they know. */
export const CURRENT_SCHEMA_VERSION = 1;

const uuid = z.uuid();

/**
 * The CloudEvents 1.0 attributes every Konstruct event has, with the extensions `tenantid`,
 * `correlationid`, `causationid` and `schemaversion`.
 */
const baseEnvelope = {
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  /** The producing component, e.g. `/konstruct/gateway`. */
  source: z.string().min(1),
  /** What the event is about, e.g. the conversation. */
  subject: z.string().optional(),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal('application/json'),
  /** The id shared by every event of one inbound message's journey. */
  correlationid: z.string().min(1),
  /** The id of the event that caused this one (the event's own id for a first event). */
  causationid: z.string().min(1),
  /** The version of this type's `data` schema. */
  schemaversion: z.number().int().positive(),
};

function tenantEvent<T extends string, D extends z.ZodType>(type: T, data: D) {
  return z.object({ ...baseEnvelope, type: z.literal(type), tenantid: uuid, data });
}

function opsEvent<T extends string, D extends z.ZodType>(type: T, data: D) {
  return z.object({ ...baseEnvelope, type: z.literal(type), tenantid: uuid.optional(), data });
}

/** Why the router did not route a message. */
export const RejectionReason = z.enum([
  'not_addressed',
  'no_agent',
  'agent_inactive',
  'rate_limited',
  'connection_disabled',
  'unsupported_content',
]);
/** Why the router did not route a message. */
export type RejectionReason = z.infer<typeof RejectionReason>;

/** Token counts of one model call. */
export const TokenUsage = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
});
/** Token counts of one model call. */
export type TokenUsage = z.infer<typeof TokenUsage>;

/** A message arrived through the gateway and was stored. Subject `tenant.<id>.message.received.<channel>`. */
export const MessageReceived = tenantEvent('message.received', z.object({ message: KonstructMessage }));

/** The agent is addressed and within rate; the orchestrator takes it from here. */
export const MessageRouted = tenantEvent(
  'message.routed',
  z.object({
    message: KonstructMessage,
    agentId: uuid,
    /** Stable id of the conversation (channel, workspace, channel id, thread). */
    conversationId: z.string().min(1),
    reason: z.enum(['direct', 'mention', 'engaged_thread']),
  }),
);

/** The router decided not to route a message, and why. */
export const MessageRejected = tenantEvent(
  'message.rejected',
  z.object({
    message: KonstructMessage,
    reason: RejectionReason,
    /** One line an operator can act on. */
    detail: z.string(),
    /** Whether the person was told (once per window for rate limits). */
    notified: z.boolean().default(false),
  }),
);

/** The agent produced an answer (or, when every model failed, an apology). */
export const AgentReplied = tenantEvent(
  'agent.replied',
  z.object({
    agentId: uuid,
    conversationId: z.string().min(1),
    /** The routed message this answers: its event id. */
    inReplyTo: z.string().min(1),
    message: KonstructMessage,
    reply: z.object({ text: z.string().min(1) }),
    /** `answer` from a model, `apology` when every model failed. */
    kind: z.enum(['answer', 'apology']),
    model: z.string().optional(),
    provider: z.string().optional(),
    usage: TokenUsage.optional(),
    latencyMs: z.number().nonnegative().optional(),
  }),
);

/** Every model of the agent's group failed for this message. */
export const AgentFailed = tenantEvent(
  'agent.failed',
  z.object({
    agentId: uuid,
    conversationId: z.string().min(1),
    inReplyTo: z.string().min(1),
    reason: z.string(),
    attempts: z.array(z.object({ provider: z.string(), model: z.string(), error: z.string() })).default([]),
  }),
);

const deliveryTarget = {
  channel: ChannelType,
  workspaceId: z.string().min(1),
  channelId: z.string().min(1),
  threadId: z.string().min(1),
  /** The agent.replied (or rejection notice) event that was delivered. */
  replyEventId: z.string().min(1),
};

/** The platform accepted the reply. Subject `tenant.<id>.delivery.succeeded.<channel>`. */
export const DeliverySucceeded = tenantEvent(
  'delivery.succeeded',
  z.object({
    ...deliveryTarget,
    /** The platform's id of the posted message (Slack ts, wamid). */
    platformMessageId: z.string().min(1),
    /** The platform's answer, trimmed to what matters. */
    response: z.record(z.string(), z.unknown()).default({}),
  }),
);

/** The platform refused the reply, or could not be reached for good. */
export const DeliveryFailed = tenantEvent(
  'delivery.failed',
  z.object({
    ...deliveryTarget,
    /** One line an operator can act on (e.g. `channel_not_found`, `no bot token on connection`). */
    reason: z.string(),
    response: z.record(z.string(), z.unknown()).default({}),
  }),
);

/** A platform receipt for a message the business sent (WhatsApp sent/delivered/read/failed). */
export const DeliveryStatus = tenantEvent(
  'delivery.status',
  z.object({
    channel: ChannelType,
    workspaceId: z.string().min(1),
    platformMessageId: z.string().min(1),
    status: z.enum(['sent', 'delivered', 'read', 'failed', 'deleted', 'warning']),
    recipientId: z.string().min(1),
    at: z.iso.datetime({ offset: true }),
    errors: z.array(z.object({ code: z.number().optional(), title: z.string().optional() })).default([]),
  }),
);

/** A webhook from a workspace or phone number no tenant has connected. Subject `ops.ingress.unrouted`. */
export const IngressUnrouted = opsEvent(
  'ingress.unrouted',
  z.object({
    channel: ChannelType,
    workspaceId: z.string(),
    platformEventId: z.string(),
    reason: z.string(),
  }),
);

/** A message a consumer could not handle, copied with its reason. Subject `ops.deadletter.<consumer>`. */
export const DeadLettered = opsEvent(
  'deadletter.recorded',
  z.object({
    consumer: z.string(),
    /** Where the message was, so a redrive can put it back. */
    originalSubject: z.string(),
    streamSequence: z.number().int().nonnegative(),
    deliveries: z.number().int().nonnegative(),
    reason: z.string(),
    /** The original payload, as it was on the wire (UTF-8). */
    payload: z.string(),
    /** The original message id header, so a redrive keeps idempotency. */
    messageId: z.string().optional(),
  }),
);

/** Every event type, discriminated on `type`. */
export const KonstructEvent = z.discriminatedUnion('type', [
  MessageReceived,
  MessageRouted,
  MessageRejected,
  AgentReplied,
  AgentFailed,
  DeliverySucceeded,
  DeliveryFailed,
  DeliveryStatus,
  IngressUnrouted,
  DeadLettered,
]);
/** Any Konstruct event. */
export type KonstructEvent = z.infer<typeof KonstructEvent>;
/** An event type's name. */
export type EventType = KonstructEvent['type'];
/** The event of a given type. */
export type EventOf<T extends EventType> = Extract<KonstructEvent, { type: T }>;
/** The data of a given type. */
export type DataOf<T extends EventType> = EventOf<T>['data'];

/** Every event schema by type, for schema generation and per-type parsing. */
export const eventSchemas = {
  'message.received': MessageReceived,
  'message.routed': MessageRouted,
  'message.rejected': MessageRejected,
  'agent.replied': AgentReplied,
  'agent.failed': AgentFailed,
  'delivery.succeeded': DeliverySucceeded,
  'delivery.failed': DeliveryFailed,
  'delivery.status': DeliveryStatus,
  'ingress.unrouted': IngressUnrouted,
  'deadletter.recorded': DeadLettered,
} as const satisfies Record<EventType, z.ZodType>;

/** The schema versions of each type this build can read. */
export const knownSchemaVersions: Readonly<Record<EventType, readonly number[]>> = Object.fromEntries(
  Object.keys(eventSchemas).map((type) => [type, [CURRENT_SCHEMA_VERSION]]),
) as unknown as Record<EventType, readonly number[]>;
