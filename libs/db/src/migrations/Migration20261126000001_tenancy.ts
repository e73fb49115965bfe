import { Migration } from '@mikro-orm/migrations';

export class Migration20261126000001_tenancy extends Migration {
  override name = 'Migration20261126000001_tenancy';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "portal_users" ("id" uuid not null, "email" varchar(320) not null, "password_hash" varchar(200) not null, "role" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`alter table "portal_users" add constraint "portal_users_email_unique" unique ("email");`);

    this.addSql(
      `create table "tenants" ("id" uuid not null, "name" varchar(200) not null, "slug" varchar(50) not null, "rate_limit_messages" int null, "rate_limit_window_seconds" int null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`alter table "tenants" add constraint "tenants_slug_unique" unique ("slug");`);

    this.addSql(
      `create table "portal_memberships" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "portal_memberships" add constraint "portal_memberships_user_tenant_unique" unique ("user_id", "tenant_id");`,
    );

    this.addSql(
      `create table "agents" ("id" uuid not null, "tenant_id" uuid not null, "name" varchar(100) not null, "role" varchar(200) not null, "persona" text not null default '', "tone" varchar(200) not null default 'friendly and concise', "system_prompt" text not null default '', "model_group" varchar(50) not null default 'fast', "active" boolean not null default true, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );

    this.addSql(
      `create table "channel_connections" ("id" uuid not null, "tenant_id" uuid not null, "channel_type" text not null, "workspace_id" varchar(100) not null, "agent_id" uuid null, "settings" jsonb not null default '{}', "credentials" text not null, "enabled" boolean not null default true, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "channel_connections" add constraint "channel_connections_channel_workspace_unique" unique ("channel_type", "workspace_id");`,
    );

    this.addSql(
      `alter table "portal_users" add constraint "portal_users_role_check" check ("role" in ('platform_admin', 'customer_admin', 'customer_operator'));`,
    );

    this.addSql(
      `alter table "portal_memberships" add constraint "portal_memberships_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "portal_memberships" add constraint "portal_memberships_user_id_foreign" foreign key ("user_id") references "portal_users" ("id") on delete cascade;`,
    );
    this.addSql(`alter table "portal_memberships" enable row level security;`);
    this.addSql(`alter table "portal_memberships" force row level security;`);
    this.addSql(
      `create policy "portal_memberships_tenant_isolation" on "portal_memberships" using (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid) with check (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid);`,
    );

    this.addSql(
      `alter table "agents" add constraint "agents_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`,
    );
    this.addSql(`alter table "agents" enable row level security;`);
    this.addSql(`alter table "agents" force row level security;`);
    this.addSql(
      `create policy "agents_tenant_isolation" on "agents" using (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid) with check (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid);`,
    );

    this.addSql(
      `alter table "channel_connections" add constraint "channel_connections_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "channel_connections" add constraint "channel_connections_agent_id_foreign" foreign key ("agent_id") references "agents" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "channel_connections" add constraint "channel_connections_channel_type_check" check ("channel_type" in ('slack', 'whatsapp', 'web', 'teams', 'telegram', 'mattermost', 'rocketchat', 'signal'));`,
    );
    this.addSql(`alter table "channel_connections" enable row level security;`);
    this.addSql(`alter table "channel_connections" force row level security;`);
    this.addSql(
      `create policy "channel_connections_tenant_isolation" on "channel_connections" using (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid) with check (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid);`,
    );
    this.addSql(
      `create policy "channel_connections_resolver" on "channel_connections" for select to "konstruct_owner" using (true);`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "portal_memberships" drop constraint "portal_memberships_user_id_foreign";`);
    this.addSql(`alter table "portal_memberships" drop constraint "portal_memberships_tenant_id_foreign";`);
    this.addSql(`alter table "agents" drop constraint "agents_tenant_id_foreign";`);
    this.addSql(`alter table "channel_connections" drop constraint "channel_connections_tenant_id_foreign";`);
    this.addSql(`alter table "channel_connections" drop constraint "channel_connections_agent_id_foreign";`);

    this.addSql(`drop table if exists "portal_users" cascade;`);
    this.addSql(`drop table if exists "tenants" cascade;`);
    this.addSql(`drop table if exists "portal_memberships" cascade;`);
    this.addSql(`drop table if exists "agents" cascade;`);
    this.addSql(`drop table if exists "channel_connections" cascade;`);
  }
}
