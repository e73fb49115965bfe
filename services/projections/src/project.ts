import type { KonstructEvent } from '@konstruct/contracts';
import { type Database, translateDbError, withTenant } from '@konstruct/db';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ProjectionName } from './plan.ts';
import {
  type PreparedBatch,
  type PreparedTenant,
  type ProjectOptions,
  prepareProjection,
  prepareTenant,
  selection,
} from './prepare.ts';
import type { WriteCounts } from './serialize.ts';
import { refreshDerived, writeSerialized } from './store.ts';

/** What a projected batch did. */
export interface ProjectionResult {
  /** Events read. */
  events: number;
  /** Events that wrote nothing (no tenant, or a type no selected read model uses). */
  skipped: number;
  /** Tenants written, one transaction each. */
  tenants: number;
  /** Rows sent to each table after folding the batch per key (an upsert may leave a row unchanged). */
  rows: WriteCounts;
}

function emptyCounts(): WriteCounts {
  return { conversations: 0, messages: 0, deliveries: 0, receipts: 0, usage: 0 };
}

function addCounts(into: WriteCounts, more: WriteCounts): void {
  for (const key of Object.keys(into) as (keyof WriteCounts)[]) into[key] += more[key];
}

/** Options of {@link writePrepared}. */
export interface WriteOptions {
  /**
   * The batch is part of a full rebuild (its read models were just cleared, see {@link clearProjections}), and
   * other batches of the same rebuild may be written at the same time. Such a transaction takes the tenant's
   * projection lock in shared mode (rebuild writers run side by side; the live consumer still waits for them
   * and they for it), writes the rows alone, and leaves conversation counts and receipt joins to
   * {@link finishRebuild}, which the rebuild must call once its last batch is written. @default false
   */
  rebuilding?: boolean;
}

async function writeTenant(
  orm: Database,
  prepared: PreparedTenant,
  { rebuilding = false }: WriteOptions = {},
): Promise<ProjectionResult> {
  try {
    const rows = await withTenant(orm, prepared.tenantId, async (em) => {
      if (!rebuilding) {
        await lockTenantProjections(em, prepared.tenantId, 'exclusive');
        return writeSerialized(em, prepared.tenantId, prepared.serialized);
      }
      // synchronous_commit off: a rebuild batch's commit does not wait for its WAL flush. If Postgres crashes
      // in that window the batch is lost, and so is the rebuild: it is run again (it starts with a clear). The
      // rebuild only reports done after finishRebuild, whose synchronous commit flushes the WAL up to it, so
      // every batch of a finished rebuild is durable.
      await lockTenantProjections(em, prepared.tenantId, 'shared', { synchronousCommit: false });
      return writeSerialized(em, prepared.tenantId, prepared.serialized, { derived: false });
    });
    return { events: prepared.events, skipped: prepared.skipped, tenants: 1, rows };
  } catch (error) {
    throw translateDbError(error, `projection of ${prepared.events} events`);
  }
}

/**
 * Writes a prepared batch: one transaction per tenant. Throws at the first tenant that fails; tenants before
 * it stay committed, which is harmless because projecting them again changes nothing.
 */
export async function writePrepared(
  orm: Database,
  prepared: PreparedBatch,
  options: WriteOptions = {},
): Promise<ProjectionResult> {
  const total: ProjectionResult = { events: prepared.events, skipped: 0, tenants: 0, rows: emptyCounts() };
  for (const tenant of prepared.tenants) {
    const result = await writeTenant(orm, tenant, options);
    total.skipped += result.skipped;
    total.tenants += 1;
    addCounts(total.rows, result.rows);
  }
  total.skipped += prepared.withoutTenant;
  return total;
}

/**
 * Ends a full rebuild of one tenant's read models written with `rebuilding: true`: under the tenant's
 * exclusive projection lock (so after every rebuild batch and every live transaction before it), recounts
 * every conversation's messages and joins every delivery with its receipt, as the live transactions do for
 * the rows they touch. From then on the live consumer's own refreshes keep them right. Idempotent.
 */
export async function finishRebuild(
  orm: Database,
  tenantId: string,
  names: readonly ProjectionName[],
): Promise<void> {
  const selected = selection({ projections: names });
  try {
    await withTenant(orm, tenantId, async (em) => {
      await lockTenantProjections(em, tenantId, 'exclusive');
      // a transaction id, so this commit writes a commit record and (synchronously) flushes the WAL up to it,
      // the rebuild's asynchronously committed batches included, even when there is nothing to refresh
      await em.execute('select pg_current_xact_id()');
      await refreshDerived(em, tenantId, {
        conversations: selected.includes('conversations') || selected.includes('messages'),
        deliveries: selected.includes('deliveries'),
      });
    });
  } catch (error) {
    throw translateDbError(error, 'refresh of conversation counts and receipts');
  }
}

/**
 * Projects one tenant's events in ONE transaction inside that tenant (row-level security accepts only its
 * rows). Every event must belong to `tenantId`. Database errors come back translated into the platform's
 * error tree (a lost connection is an UnavailableError, worth retrying).
 */
export async function projectTenantEvents(
  orm: Database,
  tenantId: string,
  events: readonly KonstructEvent[],
  options: ProjectOptions = {},
): Promise<ProjectionResult> {
  return writeTenant(orm, prepareTenant(tenantId, events, options));
}

/**
 * Projects a batch of events (any tenants, in stream order) into the read models: one transaction per
 * tenant, one upsert statement per table. Idempotent: projecting the same events again, in any order or
 * grouping, leaves the same rows. Throws at the first tenant that fails; tenants before it stay committed,
 * which is harmless because projecting them again changes nothing.
 */
export function projectEvents(
  orm: Database,
  events: readonly KonstructEvent[],
  options: ProjectOptions = {},
): Promise<ProjectionResult> {
  return writePrepared(orm, prepareProjection(events, options));
}

const TABLES: Record<ProjectionName, readonly string[]> = {
  conversations: ['conversations'],
  messages: ['messages'],
  deliveries: ['deliveries', 'delivery_receipts'],
  usage: ['llm_usage'],
};

/**
 * Empties the named read models of one tenant, in one transaction, before a replay rebuilds them. Returns
 * the rows deleted per table. Other tenants' rows are out of reach (row-level security).
 */
export async function clearProjections(
  orm: Database,
  tenantId: string,
  names: readonly ProjectionName[],
): Promise<Record<string, number>> {
  const tables = selection({ projections: names }).flatMap((name) => TABLES[name]);
  return withTenant(orm, tenantId, async (em) => {
    await lockTenantProjections(em, tenantId, 'exclusive');
    const deleted: Record<string, number> = {};
    for (const table of tables) {
      const result = await em.execute<{ affectedRows: number }>(
        `delete from "${table}" where tenant_id = ?::uuid`,
        [tenantId],
        'run',
      );
      deleted[table] = result.affectedRows;
    }
    return deleted;
  });
}

/**
 * Serialises the projection transactions of one tenant (the live consumer's, a range replay's, a clear, the
 * end of a rebuild). Rows that join across events — a WhatsApp receipt onto its delivery, a message into its
 * conversation's counts — are merged by whichever transaction comes second; two running at once under READ
 * COMMITTED would each miss the other's row and the join would be lost. A transaction-scoped advisory lock
 * per tenant closes that window; other tenants are not held up. A rebuild's writers take it shared: they
 * join nothing (see {@link WriteOptions}), so they may run side by side, but never beside one that does.
 */
async function lockTenantProjections(
  em: EntityManager,
  tenantId: string,
  mode: 'exclusive' | 'shared',
  { synchronousCommit = true }: { synchronousCommit?: boolean } = {},
): Promise<void> {
  const lock = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  // the transaction's commit setting rides along: one round trip
  const commit = synchronousCommit ? '' : `, set_config('synchronous_commit', 'off', true)`;
  await em.execute(`select ${lock}(hashtextextended(?, 0))${commit}`, [`projections:${tenantId}`]);
}

/** LLM usage of one agent with one model. */
export interface AgentUsage {
  agentId: string;
  model: string;
  provider: string | null;
  /** Answers (and apologies with usage) counted. */
  replies: number;
  promptTokens: number;
  completionTokens: number;
  /** Mean model latency, rounded; null when no reply said. */
  avgLatencyMs: number | null;
}

/** A tenant's LLM usage per agent and model, optionally from a time on; the heaviest agents first. */
export async function usageByAgent(orm: Database, tenantId: string, since?: Date): Promise<AgentUsage[]> {
  return withTenant(orm, tenantId, async (em) => {
    const rows = await em.execute<
      {
        agent_id: string;
        model: string;
        provider: string | null;
        replies: number;
        prompt_tokens: number;
        completion_tokens: number;
        avg_latency_ms: number | null;
      }[]
    >(
      `select agent_id, model, provider, count(*)::float8 as replies,
              sum(prompt_tokens)::float8 as prompt_tokens, sum(completion_tokens)::float8 as completion_tokens,
              round(avg(latency_ms))::float8 as avg_latency_ms
         from llm_usage
        where tenant_id = ?::uuid and at >= coalesce(?::timestamptz, '-infinity')
        group by agent_id, model, provider
        order by sum(prompt_tokens + completion_tokens) desc, agent_id, model`,
      [tenantId, since ? since.toISOString() : null],
    );
    return rows.map((r) => ({
      agentId: r.agent_id,
      model: r.model,
      provider: r.provider,
      replies: r.replies,
      promptTokens: r.prompt_tokens,
      completionTokens: r.completion_tokens,
      avgLatencyMs: r.avg_latency_ms,
    }));
  });
}
