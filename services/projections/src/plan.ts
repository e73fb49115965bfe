import type { KonstructEvent, KonstructMessage } from '@konstruct/contracts';
import { MESSAGE_STATUSES, RECEIPT_STATUSES } from '@konstruct/db/statuses';

/**
 * The pure half of the projections: what rows a batch of one tenant's events contributes, folded per key
 * with the same merge rules the SQL upserts apply against the stored row. Every rule is commutative
 * (first non-null of identical facts, earliest, latest, furthest status), so the rows do not depend on the
 * order events arrive in, a redelivered event changes nothing, and a replay rebuilds the same rows.
 */

/** The read models, by the name ops use to clear and rebuild them. */
export const PROJECTION_NAMES = ['conversations', 'messages', 'deliveries', 'usage'] as const;
/** A read model's name. */
export type ProjectionName = (typeof PROJECTION_NAMES)[number];

/** How a column of a stored row combines with the same column of a newer contribution. */
export type Merge =
  /** Part of the primary key. */
  | 'key'
  /** The first value that is not null: for facts every event states alike. */
  | 'first'
  /** The earliest time. */
  | 'least'
  /** The latest time. */
  | 'greatest'
  /**
   * Added up: a running count, which a later recount from the counted rows replaces (so, unlike the other
   * rules, it is not the final word: see {@link conversationsTable}).
   */
  | 'sum'
  /** The value furthest along this order. */
  | { furthest: readonly string[] }
  /** The value that came with the earliest time in this other (timestamp) column, e.g. a conversation's agent. */
  | { earliestBy: string };

/** A column of a read model: its property in a row, its SQL name and type, and its merge rule. */
export interface Column {
  prop: string;
  column: string;
  type: 'text' | 'uuid' | 'timestamptz' | 'int' | 'jsonb';
  merge: Merge;
}

/** A read model's table: a new row's columns and what happens when the key is already stored. */
export interface TableSpec {
  table: string;
  columns: readonly Column[];
  /** `merge` folds columns by their rules; `ignore` keeps the stored row (immutable facts). */
  onConflict: 'merge' | 'ignore';
}

function col(prop: string, type: Column['type'], merge: Merge): Column {
  return { prop, column: prop.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), type, merge };
}

/** `conversations`: one row per conversation id. */
export const conversationsTable: TableSpec = {
  table: 'conversations',
  onConflict: 'merge',
  columns: [
    col('id', 'text', 'key'),
    col('channel', 'text', 'first'),
    col('workspaceId', 'text', 'first'),
    col('channelId', 'text', 'first'),
    col('threadId', 'text', 'first'),
    // the agent of the conversation's earliest message, whatever order the events are projected in
    col('agentId', 'uuid', { earliestBy: 'firstMessageAt' }),
    col('firstMessageAt', 'timestamptz', 'least'),
    col('lastMessageAt', 'timestamptz', 'greatest'),
    // the batch's messages in the conversation (see countedConversations), added up as batches are written;
    // every write path then recounts them from `messages` (the live consumer and a range replay in each
    // transaction, a rebuild once at its end), so a redelivered event cannot count twice. A rebuild's writers
    // cannot recount (they do not see each other's rows); its final recount compares every conversation and
    // rewrites only those these sums got wrong (a message counted in two batches, live traffic meanwhile).
    col('messagesIn', 'int', 'sum'),
    col('messagesOut', 'int', 'sum'),
  ],
};

/** `messages`: one row per inbound message (its ingress event id) and per reply (its event id). */
export const messagesTable: TableSpec = {
  table: 'messages',
  onConflict: 'merge',
  columns: [
    col('eventId', 'text', 'key'),
    col('direction', 'text', 'first'),
    col('conversationId', 'text', 'first'),
    col('inReplyTo', 'text', 'first'),
    col('channel', 'text', 'first'),
    col('workspaceId', 'text', 'first'),
    col('channelId', 'text', 'first'),
    col('threadId', 'text', 'first'),
    col('platformMessageId', 'text', 'first'),
    col('senderId', 'text', 'first'),
    col('senderName', 'text', 'first'),
    col('text', 'text', 'first'),
    col('kind', 'text', 'first'),
    col('agentId', 'uuid', 'first'),
    col('status', 'text', { furthest: MESSAGE_STATUSES }),
    col('rejectionReason', 'text', 'first'),
    col('rejectionDetail', 'text', 'first'),
    col('failureReason', 'text', 'first'),
    col('sentAt', 'timestamptz', 'least'),
    col('routedAt', 'timestamptz', 'least'),
    col('repliedAt', 'timestamptz', 'least'),
    col('deliveredAt', 'timestamptz', 'least'),
    col('failedAt', 'timestamptz', 'least'),
    col('lastEventAt', 'timestamptz', 'greatest'),
  ],
};

/** `deliveries`: one row per delivery outcome event; immutable. */
export const deliveriesTable: TableSpec = {
  table: 'deliveries',
  onConflict: 'ignore',
  columns: [
    col('eventId', 'text', 'key'),
    col('replyEventId', 'text', 'first'),
    col('inReplyTo', 'text', 'first'),
    col('channel', 'text', 'first'),
    col('workspaceId', 'text', 'first'),
    col('channelId', 'text', 'first'),
    col('threadId', 'text', 'first'),
    col('outcome', 'text', 'first'),
    col('platformMessageId', 'text', 'first'),
    col('reason', 'text', 'first'),
    col('response', 'jsonb', 'first'),
    col('at', 'timestamptz', 'first'),
  ],
};

/** `llm_usage`: one row per answered `agent.replied`; immutable. */
export const usageTable: TableSpec = {
  table: 'llm_usage',
  onConflict: 'ignore',
  columns: [
    col('eventId', 'text', 'key'),
    col('agentId', 'uuid', 'first'),
    col('conversationId', 'text', 'first'),
    col('kind', 'text', 'first'),
    col('model', 'text', 'first'),
    col('provider', 'text', 'first'),
    col('promptTokens', 'int', 'first'),
    col('completionTokens', 'int', 'first'),
    col('latencyMs', 'int', 'first'),
    col('at', 'timestamptz', 'first'),
  ],
};

/**
 * `delivery_receipts`: the furthest receipt per platform message. Merged as a whole row (status, time,
 * recipient and errors belong together), see {@link mergeReceipt}.
 */
export const receiptsTable: TableSpec = {
  table: 'delivery_receipts',
  onConflict: 'merge',
  columns: [
    col('channel', 'text', 'key'),
    col('workspaceId', 'text', 'key'),
    col('platformMessageId', 'text', 'key'),
    col('status', 'text', 'first'),
    col('at', 'timestamptz', 'first'),
    col('recipientId', 'text', 'first'),
    col('errors', 'jsonb', 'first'),
  ],
};

/** A row contribution: column values by property; absent or null means "this event does not say". */
export type Row = Record<string, string | number | null | Record<string, unknown> | unknown[] | undefined>;

/** Everything a batch of one tenant's events writes. */
export interface BatchPlan {
  conversations: Row[];
  messages: Row[];
  deliveries: Row[];
  receipts: Row[];
  usage: Row[];
  /** Conversations whose message counts must be recounted. */
  touchedConversations: string[];
  /** Platform messages (channel, workspace, id) whose delivery rows must read their receipt again. */
  touchedPlatformMessages: { channel: string; workspaceId: string; platformMessageId: string }[];
  /** Events that contribute nothing to any selected read model. */
  skipped: number;
}

/** How one column folds a newer value `b` (not null) into the stored `a` (maybe null) of the same row. */
type ColumnMerge = (a: Row[string] | null, b: Row[string], current: Row, next: Row) => Row[string] | null;

/** A table's merge rules made into functions once, rather than interpreted for every row. */
interface CompiledSpec {
  keyProps: readonly string[];
  /** Non-key columns; `earliestBy` ones first, so they read the other column before it is folded. */
  merges: readonly { prop: string; fold: ColumnMerge }[];
}

function compileMerge(spec: TableSpec, merge: Merge): ColumnMerge {
  if (spec.onConflict === 'ignore' || merge === 'first') return (a, b) => a ?? b;
  if (merge === 'least') return (a, b) => (a === null ? b : earliest(String(a), String(b)));
  if (merge === 'greatest') return (a, b) => (a === null ? b : latest(String(a), String(b)));
  if (merge === 'sum') return (a, b) => (a === null ? b : Number(a) + Number(b));
  if (merge === 'key') throw new Error('a key column is not merged');
  if ('earliestBy' in merge) {
    const by = merge.earliestBy;
    return (a, b, current, next) => {
      const at = current[by] ?? null;
      const nextAt = next[by] ?? null;
      const nextIsEarlier = at !== null && nextAt !== null && earliest(String(at), String(nextAt)) !== at;
      return nextIsEarlier ? b : (a ?? b);
    };
  }
  const order = merge.furthest;
  return (a, b) => (rank(order, b) > rank(order, a) ? b : a);
}

const compiled = new Map<TableSpec, CompiledSpec>();

function compile(spec: TableSpec): CompiledSpec {
  let done = compiled.get(spec);
  if (!done) {
    const merges = spec.columns
      .filter((c) => c.merge !== 'key')
      .map((c) => ({ prop: c.prop, fold: compileMerge(spec, c.merge), first: typeof c.merge === 'object' }))
      .sort((x, y) => Number(y.first) - Number(x.first))
      .map(({ prop, fold }) => ({ prop, fold }));
    done = { keyProps: spec.columns.filter((c) => c.merge === 'key').map((c) => c.prop), merges };
    compiled.set(spec, done);
  }
  return done;
}

/**
 * Folds `next` into `target` in place (rows of the same key): a column `next` does not say (absent or null)
 * keeps its stored value, absent stays absent (read as null).
 */
function mergeInto(spec: TableSpec, target: Row, next: Row): Row {
  if (spec.table === receiptsTable.table) return mergeReceipt(target, next);
  // `earliestBy` columns come first (see compile), so they read the stored time before it is folded
  for (const { prop, fold } of compile(spec).merges) {
    const b = next[prop];
    if (b !== undefined && b !== null) target[prop] = fold(target[prop] ?? null, b, target, next);
  }
  return target;
}

/** Folds `next` into `current` column by column (both rows of the same key), as the SQL upsert does. */
export function mergeRow(spec: TableSpec, current: Row, next: Row): Row {
  return mergeInto(spec, { ...current }, next);
}

/** Position in an order, -1 for null or unknown, so any known value wins over none. */
export function rank(order: readonly string[], value: unknown): number {
  return typeof value === 'string' ? order.indexOf(value) : -1;
}

/**
 * The receipt that stands: the furthest status; between two of the same status the earlier time (the
 * platform reached it then); otherwise the stored one.
 */
export function mergeReceipt(current: Row, next: Row): Row {
  const a = rank(RECEIPT_STATUSES, current.status);
  const b = rank(RECEIPT_STATUSES, next.status);
  if (b > a || (b === a && String(next.at) < String(current.at))) return { ...next };
  return current;
}

// already UTC ISO 8601 with milliseconds, as Konstruct writes times, and a day every month has: unchanged
// by a round trip through Date (which would roll 30 February over to March), so it need not make one
const CANONICAL_TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** A time from an event, normalised to UTC ISO 8601 so it compares as text and stores unchanged. */
function iso(time: string): string {
  return CANONICAL_TIME.test(time) ? time : new Date(time).toISOString();
}

function messageFacts(message: KonstructMessage): Row {
  return {
    channel: message.channel,
    workspaceId: message.workspaceId,
    channelId: message.channelId,
    threadId: message.threadId,
    platformMessageId: message.platformMessageId,
    senderId: message.sender.id,
    senderName: message.sender.name ?? null,
    text: message.content.text,
  };
}

// times are UTC ISO 8601 of one width (see iso), so text order is time order
function earliest(a: string, b: string): string {
  if (b < a) return b;
  return a;
}

function latest(a: string, b: string): string {
  if (b > a) return b;
  return a;
}

class Accumulator {
  readonly rows = new Map<string, Row>();
  readonly spec: TableSpec;
  readonly keyProps: readonly string[];

  constructor(spec: TableSpec) {
    this.spec = spec;
    this.keyProps = compile(spec).keyProps;
  }

  /** Takes `row` over: it is the stored row of its key, or folded into it. */
  add(row: Row): void {
    const key =
      this.keyProps.length === 1
        ? String(row[this.keyProps[0]!])
        : this.keyProps.map((p) => String(row[p])).join('\u0001');
    const current = this.rows.get(key);
    if (!current) this.rows.set(key, row);
    else {
      const merged = mergeInto(this.spec, current, row);
      if (merged !== current) this.rows.set(key, merged);
    }
  }
}

/**
 * A batch's conversation rows, each with how many of the batch's messages (rows, so an event seen twice
 * counts once) are in it, by direction: what the conversation's upsert adds to its stored counts.
 */
function countedConversations(conversations: Map<string, Row>, messages: Iterable<Row>): Row[] {
  for (const row of conversations.values()) {
    row.messagesIn = 0;
    row.messagesOut = 0;
  }
  for (const message of messages) {
    const row =
      typeof message.conversationId === 'string' ? conversations.get(message.conversationId) : undefined;
    if (!row) continue;
    if (message.direction === 'in') row.messagesIn = (row.messagesIn as number) + 1;
    else row.messagesOut = (row.messagesOut as number) + 1;
  }
  return [...conversations.values()];
}

/**
 * Plans what one tenant's events write to the selected read models. Pure: the same events give the same
 * plan, whatever else is stored.
 *
 * Keys: an inbound message is its ingress event id, which the `message.received` event has as its `id` and
 * every later event of the journey carries as `correlationid`; a reply is its `agent.replied` id, which the
 * delivery events name as `replyEventId`.
 */
export function planBatch(
  events: readonly KonstructEvent[],
  selected: readonly ProjectionName[] = PROJECTION_NAMES,
): BatchPlan {
  const planner = createPlanner(selected);
  for (const event of events) planner.add(event);
  return planner.finish();
}

/** Plans a batch one event at a time, as {@link planBatch} does for a list. */
export interface Planner {
  /** Folds one event (of the batch's tenant, in stream order) into the plan. */
  add(event: KonstructEvent): void;
  /** The plan of every event added. */
  finish(): BatchPlan;
}

/**
 * A {@link planBatch} that takes its events one at a time: a caller decoding a batch (replay's worker) plans
 * each event as it decodes it, so the decoded event is garbage at once instead of living until the whole batch
 * is decoded (what is kept is the rows, far smaller).
 */
export function createPlanner(selected: readonly ProjectionName[] = PROJECTION_NAMES): Planner {
  const want = new Set(selected);
  const conversations = new Accumulator(conversationsTable);
  const messages = new Accumulator(messagesTable);
  const deliveries = new Accumulator(deliveriesTable);
  const receipts = new Accumulator(receiptsTable);
  const usage = new Accumulator(usageTable);
  const touchedConversations = new Set<string>();
  const touchedPlatformMessages = new Map<string, BatchPlan['touchedPlatformMessages'][number]>();
  let skipped = 0;

  const message = (row: Row) => {
    if (!want.has('messages')) return;
    messages.add(row);
    if (typeof row.conversationId === 'string') touchedConversations.add(row.conversationId);
  };
  const conversation = (row: Row) => {
    if (!want.has('conversations')) return;
    conversations.add(row);
    touchedConversations.add(String(row.id));
  };
  const platformMessage = (channel: string, workspaceId: string, platformMessageId: string) => {
    touchedPlatformMessages.set([channel, workspaceId, platformMessageId].join('\u0001'), {
      channel,
      workspaceId,
      platformMessageId,
    });
  };

  const add = (event: KonstructEvent) => {
    const at = iso(event.time);
    const inbound = event.correlationid;
    switch (event.type) {
      case 'message.received': {
        const m = event.data.message;
        message({
          eventId: event.id,
          direction: 'in',
          ...messageFacts(m),
          status: 'received',
          sentAt: iso(m.sentAt),
          lastEventAt: at,
        });
        break;
      }
      case 'message.routed': {
        const m = event.data.message;
        const sentAt = iso(m.sentAt);
        message({
          eventId: inbound,
          direction: 'in',
          ...messageFacts(m),
          conversationId: event.data.conversationId,
          agentId: event.data.agentId,
          status: 'routed',
          sentAt,
          routedAt: at,
          lastEventAt: at,
        });
        conversation({
          id: event.data.conversationId,
          channel: m.channel,
          workspaceId: m.workspaceId,
          channelId: m.channelId,
          threadId: m.threadId,
          agentId: event.data.agentId,
          firstMessageAt: sentAt,
          lastMessageAt: sentAt,
        });
        break;
      }
      case 'message.rejected': {
        const m = event.data.message;
        message({
          eventId: inbound,
          direction: 'in',
          ...messageFacts(m),
          status: 'rejected',
          rejectionReason: event.data.reason,
          rejectionDetail: event.data.detail,
          sentAt: iso(m.sentAt),
          lastEventAt: at,
        });
        break;
      }
      case 'agent.replied': {
        const d = event.data;
        const m = d.message;
        message({
          eventId: inbound,
          direction: 'in',
          ...messageFacts(m),
          conversationId: d.conversationId,
          agentId: d.agentId,
          status: 'replied',
          sentAt: iso(m.sentAt),
          repliedAt: at,
          lastEventAt: at,
        });
        message({
          eventId: event.id,
          direction: 'out',
          conversationId: d.conversationId,
          inReplyTo: inbound,
          channel: m.channel,
          workspaceId: m.workspaceId,
          channelId: m.channelId,
          threadId: m.threadId,
          text: d.reply.text,
          kind: d.kind,
          agentId: d.agentId,
          status: 'replied',
          sentAt: at,
          repliedAt: at,
          lastEventAt: at,
        });
        conversation({
          id: d.conversationId,
          channel: m.channel,
          workspaceId: m.workspaceId,
          channelId: m.channelId,
          threadId: m.threadId,
          agentId: d.agentId,
          firstMessageAt: earliest(iso(m.sentAt), at),
          lastMessageAt: latest(iso(m.sentAt), at),
        });
        if (want.has('usage') && d.usage) {
          usage.add({
            eventId: event.id,
            agentId: d.agentId,
            conversationId: d.conversationId,
            kind: d.kind,
            model: d.model ?? 'unknown',
            provider: d.provider ?? null,
            promptTokens: d.usage.promptTokens,
            completionTokens: d.usage.completionTokens,
            latencyMs: d.latencyMs === undefined ? null : Math.round(d.latencyMs),
            at,
          });
        }
        break;
      }
      case 'agent.failed': {
        // the apology that follows is a reply of its own; here only the operator's reason is kept, and
        // `received`, the first status, never moves the message back
        message({
          eventId: inbound,
          direction: 'in',
          status: 'received',
          failureReason: `agent: ${event.data.reason}`,
          lastEventAt: at,
        });
        break;
      }
      case 'delivery.succeeded':
      case 'delivery.failed': {
        const d = event.data;
        const succeeded = event.type === 'delivery.succeeded';
        const platformMessageId = succeeded ? event.data.platformMessageId : null;
        const reason = succeeded ? null : event.data.reason;
        const target = {
          channel: d.channel,
          workspaceId: d.workspaceId,
          channelId: d.channelId,
          threadId: d.threadId,
        };
        const outcome = succeeded
          ? { status: 'delivered', deliveredAt: at }
          : { status: 'failed', failureReason: reason, failedAt: at };
        // the reply (or rejection notice) that was posted, and the person's message it answers
        message({
          eventId: d.replyEventId,
          direction: 'out',
          inReplyTo: inbound,
          ...target,
          platformMessageId,
          ...outcome,
          lastEventAt: at,
        });
        message({ eventId: inbound, direction: 'in', ...target, ...outcome, lastEventAt: at });
        if (want.has('deliveries')) {
          deliveries.add({
            eventId: event.id,
            replyEventId: d.replyEventId,
            inReplyTo: inbound,
            ...target,
            outcome: succeeded ? 'succeeded' : 'failed',
            platformMessageId,
            reason,
            response: d.response,
            at,
          });
          if (platformMessageId) platformMessage(d.channel, d.workspaceId, platformMessageId);
        }
        break;
      }
      case 'delivery.status': {
        const d = event.data;
        if (!want.has('deliveries')) {
          skipped += 1;
          break;
        }
        receipts.add({
          channel: d.channel,
          workspaceId: d.workspaceId,
          platformMessageId: d.platformMessageId,
          status: d.status,
          at: iso(d.at),
          recipientId: d.recipientId,
          errors: d.errors,
        });
        platformMessage(d.channel, d.workspaceId, d.platformMessageId);
        break;
      }
      default:
        skipped += 1;
    }
  };

  const finish = (): BatchPlan => ({
    conversations: countedConversations(conversations.rows, messages.rows.values()),
    messages: [...messages.rows.values()],
    deliveries: [...deliveries.rows.values()],
    receipts: [...receipts.rows.values()],
    usage: [...usage.rows.values()],
    touchedConversations: [...touchedConversations],
    touchedPlatformMessages: [...touchedPlatformMessages.values()],
    skipped,
  });
  return { add, finish };
}
