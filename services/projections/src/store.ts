import { executeBound, RECEIPT_STATUSES } from '@konstruct/db';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type BatchPlan,
  type Column,
  conversationsTable,
  deliveriesTable,
  messagesTable,
  type Row,
  receiptsTable,
  type TableSpec,
  usageTable,
} from './plan.ts';

/**
 * The SQL half of the projections. Each table of a plan is written by ONE statement: the rows travel as one
 * bound array parameter per column, unpacked by `unnest`, and `insert … on conflict` applies the same merge
 * rules as {@link mergeRow}. A parameter per column (not per value) keeps clear of Postgres' 65,535-parameter
 * limit; bound arrays measured faster than one `jsonb_to_recordset` document formatted into the SQL text (no
 * escaping, no key names repeated per row, no JSON to parse), which measured faster than `em.upsertMany`
 * (see the README figures), which cannot express "earliest", "latest" or "furthest" merges.
 */

const quote = (identifier: string) => `"${identifier}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

function rankExpr(order: readonly string[], value: string): string {
  return `coalesce(array_position(array[${order.map(literal).join(', ')}]::text[], ${value}), -1)`;
}

function mergeExpr({ column, merge }: Column): string {
  const stored = `t.${quote(column)}`;
  const incoming = `excluded.${quote(column)}`;
  if (merge === 'first') return `coalesce(${stored}, ${incoming})`;
  if (merge === 'least') return `least(${stored}, ${incoming})`;
  if (merge === 'greatest') return `greatest(${stored}, ${incoming})`;
  if (merge === 'key') return stored;
  if ('earliestBy' in merge) {
    const by = quote(merge.earliestBy.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
    return `case when excluded.${by} < t.${by} then coalesce(${incoming}, ${stored}) else coalesce(${stored}, ${incoming}) end`;
  }
  return `case when ${rankExpr(merge.furthest, incoming)} > ${rankExpr(merge.furthest, stored)} then ${incoming} else ${stored} end`;
}

const SQL_TYPES: Record<Column['type'], string> = {
  text: 'text',
  uuid: 'uuid',
  timestamptz: 'timestamptz',
  int: 'integer',
  jsonb: 'jsonb',
};

/**
 * The upsert of a table: `$1` is the tenant id, `$2`… one array per column of the spec, in its order
 * (see {@link columnArrays}).
 */
export function upsertSql(spec: TableSpec): string {
  const columns = spec.columns.map((c) => quote(c.column)).join(', ');
  const arrays = spec.columns.map((c, i) => `$${i + 2}::${SQL_TYPES[c.type]}[]`);
  const keys = ['tenant_id', ...spec.columns.filter((c) => c.merge === 'key').map((c) => c.column)];
  const head =
    `insert into ${quote(spec.table)} as t ("tenant_id", ${columns}) ` +
    `select $1::uuid, ${columns} from unnest(${arrays.join(', ')}) as x(${columns}) ` +
    `on conflict (${keys.map(quote).join(', ')}) `;
  if (spec.onConflict === 'ignore') return `${head}do nothing`;
  if (spec.table === receiptsTable.table) {
    // the whole receipt row is replaced by a further status, or by the same status reached earlier
    const updates = spec.columns.filter((c) => c.merge !== 'key');
    const incoming = rankExpr(RECEIPT_STATUSES, 'excluded.status');
    const stored = rankExpr(RECEIPT_STATUSES, 't.status');
    return (
      `${head}do update set ${updates.map((c) => `${quote(c.column)} = excluded.${quote(c.column)}`).join(', ')} ` +
      `where ${incoming} > ${stored} or (${incoming} = ${stored} and excluded.at < t.at)`
    );
  }
  const updates = spec.columns.filter((c) => c.merge !== 'key');
  return `${head}do update set ${updates.map((c) => `${quote(c.column)} = ${mergeExpr(c)}`).join(', ')}`;
}

const SQL = {
  conversations: upsertSql(conversationsTable),
  messages: upsertSql(messagesTable),
  deliveries: upsertSql(deliveriesTable),
  receipts: upsertSql(receiptsTable),
  usage: upsertSql(usageTable),
  // counts come from the messages themselves, so a redelivered or replayed event cannot count twice
  recount: `update conversations c
       set messages_in = n.messages_in, messages_out = n.messages_out
      from (select k.id,
                   count(m.event_id) filter (where m.direction = 'in') as messages_in,
                   count(m.event_id) filter (where m.direction = 'out') as messages_out
              from unnest($2::text[]) as k(id)
              left join messages m on m.tenant_id = $1::uuid and m.conversation_id = k.id
             group by k.id) n
     where c.tenant_id = $1::uuid and c.id = n.id`,
  // a delivery reads the furthest receipt of its posted message, whichever of the two was projected first
  receiptsIntoDeliveries: `update deliveries d
       set platform_status = r.status, platform_status_at = r.at
      from delivery_receipts r,
           unnest($2::text[], $3::text[], $4::text[]) as k(channel, workspace_id, platform_message_id)
     where d.tenant_id = $1::uuid and r.tenant_id = d.tenant_id
       and d.channel = k.channel and d.workspace_id = k.workspace_id and d.platform_message_id = k.platform_message_id
       and r.channel = k.channel and r.workspace_id = k.workspace_id and r.platform_message_id = k.platform_message_id
       and (d.platform_status is distinct from r.status or d.platform_status_at is distinct from r.at)`,
  // the same two, for every row of a tenant at once: one grouped scan each, after a rebuild
  recountAll: `update conversations c
       set messages_in = n.messages_in, messages_out = n.messages_out
      from (select c2.id,
                   count(m.event_id) filter (where m.direction = 'in') as messages_in,
                   count(m.event_id) filter (where m.direction = 'out') as messages_out
              from conversations c2
              left join messages m on m.tenant_id = c2.tenant_id and m.conversation_id = c2.id
             where c2.tenant_id = $1::uuid
             group by c2.id) n
     where c.tenant_id = $1::uuid and c.id = n.id
       and (c.messages_in <> n.messages_in or c.messages_out <> n.messages_out)`,
  receiptsIntoAllDeliveries: `update deliveries d
       set platform_status = r.status, platform_status_at = r.at
      from delivery_receipts r
     where d.tenant_id = $1::uuid and r.tenant_id = d.tenant_id
       and d.channel = r.channel and d.workspace_id = r.workspace_id and d.platform_message_id = r.platform_message_id
       and (d.platform_status is distinct from r.status or d.platform_status_at is distinct from r.at)`,
} as const;

/**
 * Postgres text refuses NUL characters and lone surrogates: they are dropped, so one odd character in a
 * message cannot stop a tenant's projections.
 */
function storable(text: string): string {
  return text.isWellFormed() && !text.includes('\u0000')
    ? text
    : text.toWellFormed().replaceAll('\u0000', '');
}

function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? storable(v) : v));
}

const ESCAPED = /["\\]/;

/** One element of a Postgres array literal: quoted, so it is never read as NULL or split at a comma. */
function element(text: string): string {
  return ESCAPED.test(text) ? `"${text.replace(/["\\]/g, '\\$&')}"` : `"${text}"`;
}

/**
 * A Postgres array literal (`{"a",NULL,"b"}`): every string quoted, so none is read as NULL or split at a
 * comma, with `"` and `\` escaped. Built here rather than by the driver, which escapes every element with
 * two regular expressions: this is the hottest loop of a replay's CPU half.
 */
export function arrayLiteral(values: readonly (string | number | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (i > 0) out += ',';
    if (value === null) out += 'NULL';
    else if (typeof value === 'number') out += String(value);
    else out += element(value);
  }
  return `${out}}`;
}

/**
 * The rows of a table as the parameters of its {@link upsertSql}: one array literal per column, in the spec's
 * order, NULL where a row does not say. Strings are made storable; JSON columns travel as their text. (One
 * loop per column straight into the literal: this runs for every value a replay writes.)
 */
export function columnArrays(spec: TableSpec, rows: readonly Row[]): string[] {
  return spec.columns.map(({ prop, type }) => {
    let out = '{';
    for (let i = 0; i < rows.length; i++) {
      if (i > 0) out += ',';
      const value = rows[i]![prop] ?? null;
      if (value === null) out += 'NULL';
      else if (type === 'jsonb') out += element(jsonText(value));
      else if (typeof value === 'string') out += element(storable(value));
      else if (typeof value === 'number') out += String(value);
      else throw new TypeError(`column ${prop} of ${spec.table}: expected a string or a number`);
    }
    return `${out}}`;
  });
}

function sortedBy<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
  return items
    .map((item) => ({ item, key: keyOf(item) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ item }) => item);
}

/** Rows in the order of their keys, so concurrent writers take their row locks in one order. */
function byKey(spec: TableSpec, rows: readonly Row[]): Row[] {
  const keys = spec.columns.filter((c) => c.merge === 'key').map((c) => c.prop);
  return sortedBy(rows, (row) => keys.map((k) => String(row[k])).join('\u0001'));
}

/** Rows written per read model by one batch. */
export interface WriteCounts {
  conversations: number;
  messages: number;
  deliveries: number;
  receipts: number;
  usage: number;
}

/** A plan turned into the statements' parameters: the CPU half of a write, done before the transaction. */
export interface SerializedPlan {
  tables: { sql: string; params: string[]; rows: number; count: keyof WriteCounts }[];
  counts: WriteCounts;
  /** Conversation ids to recount, in order, as an array literal. */
  touchedConversations: string | undefined;
  /** Channels, workspace ids and platform message ids of the deliveries to join with their receipts (literals). */
  touchedPlatformMessages: [string, string, string] | undefined;
}

/**
 * Serialises a plan for {@link writeSerialized}. Kept apart from the write so a caller with batches in a
 * row (replay) can prepare the next batch while Postgres writes the previous one.
 */
export function serializePlan(plan: BatchPlan): SerializedPlan {
  // messages before conversations' recount, deliveries and receipts before the receipt refresh
  const order: [string, TableSpec, readonly Row[], keyof WriteCounts][] = [
    [SQL.messages, messagesTable, plan.messages, 'messages'],
    [SQL.conversations, conversationsTable, plan.conversations, 'conversations'],
    [SQL.deliveries, deliveriesTable, plan.deliveries, 'deliveries'],
    [SQL.receipts, receiptsTable, plan.receipts, 'receipts'],
    [SQL.usage, usageTable, plan.usage, 'usage'],
  ];
  const counts: WriteCounts = {
    messages: plan.messages.length,
    conversations: plan.conversations.length,
    deliveries: plan.deliveries.length,
    receipts: plan.receipts.length,
    usage: plan.usage.length,
  };
  const platformMessages = sortedBy(plan.touchedPlatformMessages, (k) =>
    [k.channel, k.workspaceId, k.platformMessageId].join('\u0001'),
  );
  return {
    tables: order
      .filter(([, , rows]) => rows.length > 0)
      .map(([sql, spec, rows, count]) => ({
        sql,
        params: columnArrays(spec, byKey(spec, rows)),
        rows: rows.length,
        count,
      })),
    counts,
    touchedConversations:
      plan.touchedConversations.length > 0
        ? arrayLiteral(sortedBy(plan.touchedConversations, (id) => id).map(storable))
        : undefined,
    touchedPlatformMessages:
      platformMessages.length > 0
        ? [
            arrayLiteral(platformMessages.map((k) => storable(k.channel))),
            arrayLiteral(platformMessages.map((k) => storable(k.workspaceId))),
            arrayLiteral(platformMessages.map((k) => storable(k.platformMessageId))),
          ]
        : undefined,
  };
}

/**
 * Writes a serialised plan inside the caller's tenant transaction; returns how many rows each table was sent.
 * With `derived: false` the rows alone are written, and the conversation counts and receipt joins they would
 * change are left to {@link refreshDerived} (a rebuild's writers, which run side by side, cannot see each
 * other's rows to count or join them).
 */
export async function writeSerialized(
  em: EntityManager,
  tenantId: string,
  serialized: SerializedPlan,
  { derived = true }: { derived?: boolean } = {},
): Promise<WriteCounts> {
  for (const table of serialized.tables) await executeBound(em, table.sql, [tenantId, ...table.params]);
  if (!derived) return serialized.counts;
  if (serialized.touchedConversations) {
    await executeBound(em, SQL.recount, [tenantId, serialized.touchedConversations]);
  }
  if (serialized.touchedPlatformMessages) {
    await executeBound(em, SQL.receiptsIntoDeliveries, [tenantId, ...serialized.touchedPlatformMessages]);
  }
  return serialized.counts;
}

/**
 * Recomputes, for every row of a tenant, what the rows of other tables decide: each conversation's message
 * counts and each delivery's platform status from its receipt. Run inside the caller's tenant transaction.
 */
export async function refreshDerived(
  em: EntityManager,
  tenantId: string,
  { conversations, deliveries }: { conversations: boolean; deliveries: boolean },
): Promise<void> {
  if (conversations) await executeBound(em, SQL.recountAll, [tenantId]);
  if (deliveries) await executeBound(em, SQL.receiptsIntoAllDeliveries, [tenantId]);
}

/** Writes a plan inside the caller's tenant transaction; returns how many rows each table was sent. */
export function writePlan(em: EntityManager, tenantId: string, plan: BatchPlan): Promise<WriteCounts> {
  return writeSerialized(em, tenantId, serializePlan(plan));
}
