import { Migration } from '@mikro-orm/migrations';

/**
 * What the app role may do, and the one door across tenants.
 *
 * - konstruct_app gets DML on the tables (never DDL, never ownership), now and for tables later migrations
 *   create, but nothing on the migrations table.
 * - resolve_channel_connection() is the only cross-tenant read: given a platform and workspace id it returns
 *   the owning tenant and connection. SECURITY DEFINER with a fixed search_path, so a caller cannot shadow
 *   the table with one of its own; executable by the app role only.
 */
export class Migration20261126000002_app_access extends Migration {
  override name = 'Migration20261126000002_app_access';

  override up(): void {
    this.addSql(
      `grant select, insert, update, delete on "tenants", "agents", "channel_connections", "portal_users", "portal_memberships" to konstruct_app;`,
    );
    this.addSql(
      'alter default privileges for role konstruct_owner in schema public grant select, insert, update, delete on tables to konstruct_app;',
    );
    this.addSql(
      'alter default privileges for role konstruct_owner in schema public grant usage, select on sequences to konstruct_app;',
    );
    this.addSql(`create or replace function public.resolve_channel_connection(p_channel_type text, p_workspace_id text)
      returns table (tenant_id uuid, connection_id uuid, enabled boolean, credentials text, settings jsonb)
      language sql stable security definer
      set search_path = pg_catalog, pg_temp
      as $$
        select c.tenant_id, c.id, c.enabled, c.credentials, c.settings
          from public.channel_connections c
         where c.channel_type = p_channel_type and c.workspace_id = p_workspace_id
      $$;`);
    this.addSql('revoke all on function public.resolve_channel_connection(text, text) from public;');
    this.addSql('grant execute on function public.resolve_channel_connection(text, text) to konstruct_app;');
  }

  override down(): void {
    this.addSql('drop function if exists public.resolve_channel_connection(text, text);');
    this.addSql(
      'alter default privileges for role konstruct_owner in schema public revoke select, insert, update, delete on tables from konstruct_app;',
    );
    this.addSql(
      'alter default privileges for role konstruct_owner in schema public revoke usage, select on sequences from konstruct_app;',
    );
    this.addSql(
      `revoke all on "tenants", "agents", "channel_connections", "portal_users", "portal_memberships" from konstruct_app;`,
    );
  }
}
