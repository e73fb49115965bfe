import { assertTenantId } from '@konstruct/names';
import type { EntityManager } from '@mikro-orm/postgresql';
import { TENANT_FILTER, TENANT_SETTING } from './entities/index.ts';
import type { Database } from './orm.ts';

/**
 * Opens a unit of work for one tenant: a forked EntityManager whose every transaction sets
 * `app.current_tenant` (so row-level security shows and accepts only that tenant's rows, for ORM queries,
 * `em.execute` and native updates alike), with the tenant filter on as the second layer.
 */
export function tenantScope(orm: Database, tenantId: string): EntityManager {
  assertTenantId(tenantId);
  const em = orm.em.fork({ session: { variables: { [TENANT_SETTING]: tenantId } } });
  em.setFilterParams(TENANT_FILTER, { tenantId });
  return em;
}

/** Runs `work` in one transaction inside a tenant's unit of work; commits when it resolves. */
export function withTenant<T>(
  orm: Database,
  tenantId: string,
  work: (em: EntityManager) => Promise<T>,
): Promise<T> {
  return tenantScope(orm, tenantId).transactional((em) => work(em as EntityManager));
}

/**
 * A unit of work with no tenant: for the tenant registry and portal users, which are not tenant data.
 * Tenant tables read empty and refuse writes here.
 */
export function systemScope(orm: Database): EntityManager {
  return orm.em.fork();
}
