import { RECEIPT_STATUSES } from '@konstruct/db';
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
 * JSON parameter, unpacked by `jsonb_to_recordset`, and `insert … on conflict` applies the same merge rules
 * as {@link mergeRow}. One parameter keeps clear of Postgres' 65,535-parameter limit, and measured faster than
 * `em.upsertMany` (see the README figures), which cannot express "earliest", "latest" or "furthest" merges.
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

/** The upsert of a table: `?` 1 is the tenant id, `?` 2 the rows as a JSON array keyed by column name. */
export function upsertSql(spec: TableSpec): string {
  const columns = spec.columns.map((c) => quote(c.column)).join(', ');
  const record = spec.columns.map((c) => `${quote(c.column)} ${c.type === 'int' ? 'integer' : c.type}`);
  const keys = ['tenant_id', ...spec.columns.filter((c) => c.merge === 'key').map((c) => c.column)];
  const head =
    `insert into ${quote(spec.table)} as t ("tenant_id", ${columns}) ` +
    `select ?::uuid, ${columns} from jsonb_to_recordset(?::jsonb) as x(${record.join(', ')}) ` +
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
              from (select jsonb_array_elements_text(?::jsonb) as id) k
              left join messages m on m.tenant_id = ?::uuid and m.conversation_id = k.id
             group by k.id) n
     where c.tenant_id = ?::uuid and c.id = n.id`,
  // a delivery reads the furthest receipt of its posted message, whichever of the two was projected first
  receiptsIntoDeliveries: `update deliveries d
       set platform_status = r.status, platform_status_at = r.at
      from delivery_receipts r, jsonb_to_recordset(?::jsonb) as k(channel text, workspace_id text, platform_message_id text)
     where d.tenant_id = ?::uuid and r.tenant_id = d.tenant_id
       and d.channel = k.channel and d.workspace_id = k.workspace_id and d.platform_message_id = k.platform_message_id
       and r.channel = k.channel and r.workspace_id = k.workspace_id and r.platform_message_id = k.platform_message_id
       and (d.platform_status is distinct from r.status or d.platform_status_at is distinct from r.at)`,
} as const;

/**
 * Serialises rows for `jsonb_to_recordset`, keyed by column name. NUL characters and lone surrogates, which
 * Postgres text refuses, are dropped: one odd character in a message must not stop a tenant's projections.
 */
export function rowsJson(spec: TableSpec, rows: readonly Row[]): string {
  const records = rows.map((row) =>
    Object.fromEntries(spec.columns.map((c) => [c.column, row[c.prop] ?? null])),
  );
  return JSON.stringify(records, (_key, value: unknown) =>
    typeof value === 'string' ? value.toWellFormed().replaceAll('\u0000', '') : value,
  );
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
  tables: { sql: string; json: string; rows: number; count: keyof WriteCounts }[];
  counts: WriteCounts;
  touchedConversations: string | undefined;
  touchedPlatformMessages: string | undefined;
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
  return {
    tables: order
      .filter(([, , rows]) => rows.length > 0)
      .map(([sql, spec, rows, count]) => ({ sql, json: rowsJson(spec, rows), rows: rows.length, count })),
    counts,
    touchedConversations:
      plan.touchedConversations.length > 0 ? JSON.stringify(plan.touchedConversations) : undefined,
    touchedPlatformMessages:
      plan.touchedPlatformMessages.length > 0
        ? JSON.stringify(
            plan.touchedPlatformMessages.map((k) => ({
              channel: k.channel,
              workspace_id: k.workspaceId,
              platform_message_id: k.platformMessageId,
            })),
          )
        : undefined,
  };
}

/** Writes a serialised plan inside the caller's tenant transaction; returns how many rows each table was sent. */
export async function writeSerialized(
  em: EntityManager,
  tenantId: string,
  serialized: SerializedPlan,
): Promise<WriteCounts> {
  for (const table of serialized.tables) await em.execute(table.sql, [tenantId, table.json], 'run');
  if (serialized.touchedConversations) {
    await em.execute(SQL.recount, [serialized.touchedConversations, tenantId, tenantId], 'run');
  }
  if (serialized.touchedPlatformMessages) {
    await em.execute(SQL.receiptsIntoDeliveries, [serialized.touchedPlatformMessages, tenantId], 'run');
  }
  return serialized.counts;
}

/** Writes a plan inside the caller's tenant transaction; returns how many rows each table was sent. */
export function writePlan(em: EntityManager, tenantId: string, plan: BatchPlan): Promise<WriteCounts> {
  return writeSerialized(em, tenantId, serializePlan(plan));
}
