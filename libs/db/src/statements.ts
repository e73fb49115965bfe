import type { EntityManager } from '@mikro-orm/postgresql';
import { CompiledQuery } from 'kysely';

/** What a statement run by {@link executeBound} returned. */
export interface BoundResult<T> {
  rows: T[];
  /** Rows inserted, updated or deleted. */
  affectedRows: number;
}

/**
 * Runs one statement with bound parameters (`$1`, `$2`, …) in the EntityManager's transaction (so under its
 * tenant's row-level security). Unlike `em.execute`, which formats every parameter into the SQL text as a
 * quoted literal, the values travel apart from the statement: a batch of a thousand rows is not escaped on
 * the way out nor parsed back out of a half-megabyte literal by Postgres, and an array parameter
 * (`$2::text[]`) arrives as an array. Driver errors come back as MikroORM's exception classes, as from
 * `em.execute`, so `translateDbError` reads them the same way.
 */
export async function executeBound<T = Record<string, unknown>>(
  em: EntityManager,
  sql: string,
  params: readonly unknown[],
): Promise<BoundResult<T>> {
  try {
    const result = await em.getKysely().executeQuery<T>(CompiledQuery.raw(sql, [...params]));
    return { rows: [...result.rows], affectedRows: Number(result.numAffectedRows ?? 0n) };
  } catch (error) {
    throw em.getDriver().convertException(error as Error);
  }
}
