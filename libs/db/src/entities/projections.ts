import { defineEntity, p } from '@mikro-orm/core';
import { MESSAGE_STATUSES, RECEIPT_STATUSES } from '../statuses.ts';
import { Tenant, tenantTable } from './tenancy.ts';

/**
 * Read models projected from the event stream. Every column value comes from an event (never `now()`), and
 * every key is scoped by the tenant, so a replay of a tenant's stream into empty tables rebuilds the same
 * rows, and nothing one tenant's events contain can collide with another tenant's rows.
 *
 * Strings from events are `text`: a projection must never refuse an event that passed its schema because a
 * platform sent a longer id than a varchar allowed.
 *
 * Their `tenant` is not a foreign key: Postgres checks it once per statement, not once per row, and deletes a
 * deleted tenant's rows, through triggers (Migration20261126000005). Their key and indexed ids compare bytewise
 * (`collation('C')`, Migration20261126000006).
 */

/** One conversation: a thread of a channel in which the agent was addressed. */
export const Conversation = defineEntity({
  name: 'Conversation',
  ...tenantTable('conversations'),
  indexes: [{ name: 'conversations_tenant_last_message_idx', properties: ['tenant', 'lastMessageAt'] }],
  properties: {
    tenant: () => p.manyToOne(Tenant).primary().createForeignKeyConstraint(false),
    /** The conversation id the router gives (`message.routed`), stable per channel, workspace and thread. */
    id: p.text().collation('C').primary(),
    channel: p.text(),
    workspaceId: p.text(),
    channelId: p.text(),
    threadId: p.text(),
    /** The agent that first answered here. */
    agentId: p.uuid().nullable(),
    /** The earliest message time seen (the platform's `sentAt` of an inbound message, the reply's time). */
    firstMessageAt: p.datetime(),
    /** The latest message time seen; only ever moves forward. */
    lastMessageAt: p.datetime(),
    /** Inbound messages routed into this conversation, counted from `messages`. */
    messagesIn: p.integer().default(0),
    /** Agent replies in this conversation, counted from `messages`. */
    messagesOut: p.integer().default(0),
  },
});

/**
 * A message in (from a person) or out (the agent's reply), with how far it got. An inbound message is keyed
 * by its ingress event id (the `message.received` id, which every later event of its journey carries as
 * `correlationid`); a reply by its `agent.replied` event id.
 */
export const ProjectedMessage = defineEntity({
  name: 'ProjectedMessage',
  ...tenantTable('messages'),
  // by conversation only: nothing reads messages by the one they answer (see Migration20261126000004)
  indexes: [{ name: 'messages_tenant_conversation_idx', properties: ['tenant', 'conversationId'] }],
  properties: {
    tenant: () => p.manyToOne(Tenant).primary().createForeignKeyConstraint(false),
    eventId: p.text().collation('C').primary(),
    direction: p.enum(['in', 'out'] as const),
    conversationId: p.text().collation('C').nullable(),
    /** For a reply: the inbound message's event id. */
    inReplyTo: p.text().nullable(),
    channel: p.text().nullable(),
    workspaceId: p.text().nullable(),
    channelId: p.text().nullable(),
    threadId: p.text().nullable(),
    /** The platform's id (Slack ts, wamid): of the person's message, or of the posted reply once delivered. */
    platformMessageId: p.text().nullable(),
    senderId: p.text().nullable(),
    senderName: p.text().nullable(),
    text: p.text().nullable(),
    /** For a reply: `answer` or `apology`. */
    kind: p.text().nullable(),
    agentId: p.uuid().nullable(),
    status: p.enum(MESSAGE_STATUSES),
    /** Why the router rejected it (`not_addressed`, `rate_limited`, …). */
    rejectionReason: p.text().nullable(),
    rejectionDetail: p.text().nullable(),
    /** Why delivery failed, as the platform or the orchestrator said. */
    failureReason: p.text().nullable(),
    /** When the platform says the person sent it, or when the agent replied. */
    sentAt: p.datetime().nullable(),
    routedAt: p.datetime().nullable(),
    repliedAt: p.datetime().nullable(),
    deliveredAt: p.datetime().nullable(),
    failedAt: p.datetime().nullable(),
    /** The time of the latest event about this message. */
    lastEventAt: p.datetime(),
  },
});

/** One delivery attempt's outcome (`delivery.succeeded` / `delivery.failed`), with the platform's receipts. */
export const Delivery = defineEntity({
  name: 'Delivery',
  ...tenantTable('deliveries'),
  indexes: [
    {
      name: 'deliveries_tenant_platform_message_idx',
      properties: ['tenant', 'channel', 'workspaceId', 'platformMessageId'],
    },
  ],
  properties: {
    tenant: () => p.manyToOne(Tenant).primary().createForeignKeyConstraint(false),
    eventId: p.text().collation('C').primary(),
    /** The `agent.replied` (or rejection notice) event that was delivered. */
    replyEventId: p.text(),
    /** The inbound message's event id. */
    inReplyTo: p.text(),
    channel: p.text().collation('C'),
    workspaceId: p.text().collation('C'),
    channelId: p.text(),
    threadId: p.text(),
    outcome: p.enum(['succeeded', 'failed'] as const),
    platformMessageId: p.text().collation('C').nullable(),
    reason: p.text().nullable(),
    /** The platform's answer, trimmed to what matters. */
    response: p.json<Record<string, unknown>>(),
    at: p.datetime(),
    /** The furthest receipt the platform sent for the posted message (WhatsApp sent/delivered/read/failed). */
    platformStatus: p.enum(RECEIPT_STATUSES).nullable(),
    platformStatusAt: p.datetime().nullable(),
  },
});

/**
 * The furthest receipt per platform message (`delivery.status`). Kept apart from {@link Delivery} because a
 * receipt may be projected before the delivery it belongs to; the delivery row reads it when either arrives.
 */
export const DeliveryReceipt = defineEntity({
  name: 'DeliveryReceipt',
  ...tenantTable('delivery_receipts'),
  properties: {
    tenant: () => p.manyToOne(Tenant).primary().createForeignKeyConstraint(false),
    channel: p.text().collation('C').primary(),
    workspaceId: p.text().collation('C').primary(),
    platformMessageId: p.text().collation('C').primary(),
    status: p.enum(RECEIPT_STATUSES),
    /** When the platform says the status was reached. */
    at: p.datetime(),
    recipientId: p.text(),
    errors: p.json<{ code?: number; title?: string }[]>(),
  },
});

/** One model call that answered a person (`agent.replied` with usage). Usage per agent is a GROUP BY. */
export const LlmUsage = defineEntity({
  name: 'LlmUsage',
  ...tenantTable('llm_usage'),
  // no index beyond the key: usage is read per tenant, for every agent at once (see Migration20261126000004)
  properties: {
    tenant: () => p.manyToOne(Tenant).primary().createForeignKeyConstraint(false),
    /** The `agent.replied` event id. */
    eventId: p.text().collation('C').primary(),
    agentId: p.uuid(),
    conversationId: p.text(),
    kind: p.text(),
    model: p.text(),
    provider: p.text().nullable(),
    promptTokens: p.integer(),
    completionTokens: p.integer(),
    latencyMs: p.integer().nullable(),
    at: p.datetime(),
  },
});
