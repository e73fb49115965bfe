import { Migration } from '@mikro-orm/migrations';

/** The read models, written in bulk by the projections and by a replay's rebuild. */
const READ_MODELS = ['messages', 'conversations', 'deliveries', 'delivery_receipts', 'llm_usage'] as const;

/**
 * The read models' tenant checked once per statement instead of once per row. A foreign key to `tenants`
 * checks every inserted row with a query of its own (a locking index lookup of the tenant): measured, ≈ 18 % of
 * Postgres' time in a rebuild, 3.5–4 µs per row, for batches of a thousand rows that all name one tenant.
 * The foreign keys are replaced by what they did, per statement:
 * - after each insert or update, one check over the statement's rows (a transition table) locks the tenants
 *   they name `for key share`, as a foreign key's check does, so none is deleted before the rows commit, and
 *   refuses the statement with a foreign-key violation (SQLSTATE 23503, as before) if one of them is not in
 *   `tenants`;
 * - deleting a tenant deletes its read-model rows, as `on delete cascade` did.
 * The other tenant tables (agents, connections, memberships: written a row at a time) keep their foreign keys.
 */
export class Migration20261126000005_read_model_tenant_checks extends Migration {
  override name = 'Migration20261126000005_read_model_tenant_checks';

  override up(): void {
    // as the table owner, as a foreign key's check runs: the rows' writer need not be able to lock tenants
    this.addSql(`create function "read_model_tenants_exist"() returns trigger
      language plpgsql security definer set search_path = pg_catalog, public as $$
    declare
      tenant uuid;
      missing uuid;
    begin
      select n.tenant_id into tenant from new_rows n limit 1;
      if not found then
        return null;
      end if;
      if exists (select 1 from new_rows n where n.tenant_id <> tenant) then
        -- rows of several tenants (a superuser's, past row-level security): every tenant named is checked
        perform 1 from tenants t where t.id in (select n.tenant_id from new_rows n) for key share of t;
        select n.tenant_id into missing from new_rows n
         where not exists (select 1 from tenants t where t.id = n.tenant_id) limit 1;
      else
        -- the common case, as row-level security makes every writer's: one tenant, one lookup
        perform 1 from tenants t where t.id = tenant for key share of t;
        if not found then
          missing := tenant;
        end if;
      end if;
      if missing is not null then
        raise exception using
          errcode = 'foreign_key_violation',
          message = format('insert or update on table "%s" violates foreign key constraint "%s_tenant_id_foreign"',
                           tg_table_name, tg_table_name),
          detail = format('Key (tenant_id)=(%s) is not present in table "tenants".', missing),
          table = tg_table_name,
          constraint = tg_table_name || '_tenant_id_foreign';
      end if;
      return null;
    end $$;`);
    // the rows live under forced row-level security: the deletion names the tenant it deletes for
    this.addSql(`create function "delete_tenant_read_models"() returns trigger
      language plpgsql security definer set search_path = pg_catalog, public as $$
    declare
      previous text := current_setting('app.current_tenant', true);
    begin
      perform set_config('app.current_tenant', old.id::text, true);
      ${READ_MODELS.map((table) => `delete from "${table}" where tenant_id = old.id;`).join('\n      ')}
      perform set_config('app.current_tenant', coalesce(previous, ''), true);
      return null;
    end $$;`);
    for (const table of READ_MODELS) {
      this.addSql(`alter table "${table}" drop constraint "${table}_tenant_id_foreign";`);
      for (const event of ['insert', 'update']) {
        this.addSql(
          `create trigger "${table}_tenant_exists_${event}" after ${event} on "${table}" referencing new table as new_rows for each statement execute function "read_model_tenants_exist"();`,
        );
      }
    }
    this.addSql(
      `create trigger "tenants_delete_read_models" after delete on "tenants" for each row execute function "delete_tenant_read_models"();`,
    );
  }

  override down(): void {
    this.addSql(`drop trigger if exists "tenants_delete_read_models" on "tenants";`);
    for (const table of READ_MODELS) {
      for (const event of ['insert', 'update']) {
        this.addSql(`drop trigger if exists "${table}_tenant_exists_${event}" on "${table}";`);
      }
      this.addSql(
        `alter table "${table}" add constraint "${table}_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`,
      );
    }
    this.addSql(`drop function if exists "delete_tenant_read_models"();`);
    this.addSql(`drop function if exists "read_model_tenants_exist"();`);
  }
}
