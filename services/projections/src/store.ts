import { executeBound } from '@konstruct/db';
import { RECEIPT_STATUSES } from '@konstruct/db/statuses';
import type { EntityManager } from '@mikro-orm/postgresql';
import { type Column, receiptsTable, type TableSpec } from './plan.ts';
import { type SerializedPlan, TABLE_SPECS, type WriteCounts } from './serialize.ts';

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
  if (merge === 'sum') return `${stored} + ${incoming}`;
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
 * The upsert of a table: `$1` is the tenant id, `$<first>`… one array per column of the spec, in its order
 * (see {@link columnArrays}).
 */
export function upsertSql(spec: TableSpec, first = 2): string {
  const columns = spec.columns.map((c) => quote(c.column)).join(', ');
  // one unnest per column in the select list, which Postgres steps through in lockstep, a row at a time; a
  // multi-array unnest in FROM is first copied whole into a tuplestore (measured: 100,000 rows of seven
  // columns unnested in 83-94 ms against 154-167, inserted in 583-592 ms against 695-762)
  const arrays = spec.columns.map((c, i) => `unnest($${i + first}::${SQL_TYPES[c.type]}[])`);
  const keys = ['tenant_id', ...spec.columns.filter((c) => c.merge === 'key').map((c) => c.column)];
  const head =
    `insert into ${quote(spec.table)} as t ("tenant_id", ${columns}) ` +
    `select $1::uuid, ${arrays.join(', ')} ` +
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

const combined = new Map<string, string>();

/**
 * The upserts of several tables as ONE statement (each but the last a data-modifying `with`), `$1` the tenant
 * id and then every table's column arrays in turn: one round trip to Postgres instead of one per table. The
 * tables are independent (none reads another's rows), so it makes no difference that the parts share one
 * snapshot. Cached per combination of tables.
 */
export function combinedUpsertSql(tables: readonly (keyof WriteCounts)[]): string {
  const key = tables.join(',');
  let sql = combined.get(key);
  if (sql === undefined) {
    let first = 2;
    const parts = tables.map((table) => {
      const part = upsertSql(TABLE_SPECS[table], first);
      first += TABLE_SPECS[table].columns.length;
      return part;
    });
    const last = parts.pop()!;
    sql = parts.length === 0 ? last : `with ${parts.map((p, i) => `w${i} as (${p})`).join(', ')} ${last}`;
    combined.set(key, sql);
  }
  return sql;
}

const SQL = {
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
  if (serialized.tables.length > 0) {
    await executeBound(em, combinedUpsertSql(serialized.tables.map((t) => t.table)), [
      tenantId,
      ...serialized.tables.flatMap((t) => t.params),
    ]);
  }
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
