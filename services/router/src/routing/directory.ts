import type { Clock } from '@konstruct/core';
import { Agent, ChannelConnection, type Database, systemScope, Tenant, withTenant } from '@konstruct/db';
import type { Directory } from './decide.ts';

/** A tenant's routing facts: its directory entry and its own rate limit, if it has one. */
export interface TenantRouting extends Directory {
  /** Messages per window per channel; `null` means the platform default. */
  rateLimitMessages: number | null;
  rateLimitWindowSeconds: number | null;
}

/** Reads what the router needs about a tenant and a channel connection. */
export interface DirectoryReader {
  lookup(tenantId: string, connectionId: string): Promise<TenantRouting>;
}

/** Options for {@link createDirectoryReader}. */
export interface DirectoryReaderOptions {
  orm: Database;
  clock: Clock;
  /**
   * How long a lookup is reused in this process. A few seconds saves three queries per message under load;
   * an operator who creates or switches an agent waits at most this long. 0 turns the cache off.
   * @default 5_000
   */
  cacheMs?: number;
  /** Entries kept before the oldest are dropped. @default 10_000 */
  maxEntries?: number;
}

/**
 * Reads the tenant (the registry, no RLS), then the connection and the active agents inside the tenant's
 * own unit of work, so row-level security shows this tenant's rows and nothing else. Results are cached
 * briefly per tenant and connection.
 */
export function createDirectoryReader({
  orm,
  clock,
  cacheMs = 5_000,
  maxEntries = 10_000,
}: DirectoryReaderOptions): DirectoryReader {
  const cache = new Map<string, { at: number; value: TenantRouting }>();

  async function read(tenantId: string, connectionId: string): Promise<TenantRouting> {
    const tenant = await systemScope(orm).findOne(Tenant, { id: tenantId });
    return withTenant(orm, tenantId, async (em) => {
      const connection = await em.findOne(ChannelConnection, { id: connectionId }, { populate: ['agent'] });
      const agents = await em.find(Agent, { active: true }, { orderBy: { createdAt: 'asc' } });
      const assigned = connection?.agent;
      return {
        // a deleted tenant cascades to its connections, so the rejection names the connection anyway
        tenantSlug: tenant?.slug ?? tenantId,
        rateLimitMessages: tenant?.rateLimitMessages ?? null,
        rateLimitWindowSeconds: tenant?.rateLimitWindowSeconds ?? null,
        connection: connection
          ? {
              enabled: connection.enabled,
              agent: assigned ? { id: assigned.id, name: assigned.name, active: assigned.active } : undefined,
            }
          : undefined,
        activeAgents: agents.map((a) => ({ id: a.id, name: a.name, active: a.active })),
      };
    });
  }

  return {
    async lookup(tenantId, connectionId) {
      if (cacheMs <= 0) return read(tenantId, connectionId);
      const key = `${tenantId}/${connectionId}`;
      const now = clock.now();
      const hit = cache.get(key);
      if (hit && now - hit.at < cacheMs) return hit.value;
      const value = await read(tenantId, connectionId);
      cache.delete(key);
      if (cache.size >= maxEntries) {
        // Maps iterate in insertion order: the first key is the oldest
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(key, { at: now, value });
      return value;
    },
  };
}
