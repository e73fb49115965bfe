import { listTenants } from '@konstruct/db';
import type { CliContext } from '../context.ts';

/**
 * Names tenants by slug for display, reading the tenant registry once and again when an unknown id shows up
 * (a tenant created while a tail runs). When the database cannot be reached the id itself is shown: a tail
 * must keep working for an operator whose Postgres is the thing that is down.
 */
export function tenantNamer(ctx: CliContext): (tenantId: string | undefined) => Promise<string> {
  let slugs: Map<string, string> | undefined;
  let available = true;
  async function load(): Promise<void> {
    try {
      slugs = new Map((await listTenants(await ctx.db())).map((t) => [t.id, t.slug]));
    } catch (error) {
      available = false;
      ctx.logger.debug({ err: error }, 'tenant registry unavailable; showing tenant ids');
    }
  }
  return async (tenantId) => {
    if (!tenantId) return '-';
    if (available && !slugs?.has(tenantId)) await load();
    return slugs?.get(tenantId) ?? tenantId;
  };
}
