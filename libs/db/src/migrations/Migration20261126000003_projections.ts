import { Migration } from '@mikro-orm/migrations';

/**
 * The read models the projections service writes (conversations, messages, deliveries with their receipts,
 * LLM usage), each a tenant table under row-level security, enabled and forced. Generated from the entity
 * diff; the app role's grants come from the default privileges of Migration20261126000002_app_access.
 */
export class Migration20261126000003_projections extends Migration {
  override name = 'Migration20261126000003_projections';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "messages" ("tenant_id" uuid not null, "event_id" text not null, "direction" text not null, "conversation_id" text null, "in_reply_to" text null, "channel" text null, "workspace_id" text null, "channel_id" text null, "thread_id" text null, "platform_message_id" text null, "sender_id" text null, "sender_name" text null, "text" text null, "kind" text null, "agent_id" uuid null, "status" text not null, "rejection_reason" text null, "rejection_detail" text null, "failure_reason" text null, "sent_at" timestamptz null, "routed_at" timestamptz null, "replied_at" timestamptz null, "delivered_at" timestamptz null, "failed_at" timestamptz null, "last_event_at" timestamptz not null, primary key ("tenant_id", "event_id"));`,
    );
    this.addSql(
      `create index "messages_tenant_conversation_idx" on "messages" ("tenant_id", "conversation_id");`,
    );
    this.addSql(`create index "messages_tenant_in_reply_to_idx" on "messages" ("tenant_id", "in_reply_to");`);

    this.addSql(
      `create table "llm_usage" ("tenant_id" uuid not null, "event_id" text not null, "agent_id" uuid not null, "conversation_id" text not null, "kind" text not null, "model" text not null, "provider" text null, "prompt_tokens" int not null, "completion_tokens" int not null, "latency_ms" int null, "at" timestamptz not null, primary key ("tenant_id", "event_id"));`,
    );
    this.addSql(
      `create index "llm_usage_tenant_agent_at_idx" on "llm_usage" ("tenant_id", "agent_id", "at");`,
    );

    this.addSql(
      `create table "delivery_receipts" ("tenant_id" uuid not null, "channel" text not null, "workspace_id" text not null, "platform_message_id" text not null, "status" text not null, "at" timestamptz not null, "recipient_id" text not null, "errors" jsonb not null, primary key ("tenant_id", "channel", "workspace_id", "platform_message_id"));`,
    );

    this.addSql(
      `create table "deliveries" ("tenant_id" uuid not null, "event_id" text not null, "reply_event_id" text not null, "in_reply_to" text not null, "channel" text not null, "workspace_id" text not null, "channel_id" text not null, "thread_id" text not null, "outcome" text not null, "platform_message_id" text null, "reason" text null, "response" jsonb not null, "at" timestamptz not null, "platform_status" text null, "platform_status_at" timestamptz null, primary key ("tenant_id", "event_id"));`,
    );
    this.addSql(
      `create index "deliveries_tenant_platform_message_idx" on "deliveries" ("tenant_id", "channel", "workspace_id", "platform_message_id");`,
    );

    this.addSql(
      `create table "conversations" ("tenant_id" uuid not null, "id" text not null, "channel" text not null, "workspace_id" text not null, "channel_id" text not null, "thread_id" text not null, "agent_id" uuid null, "first_message_at" timestamptz not null, "last_message_at" timestamptz not null, "messages_in" int not null default 0, "messages_out" int not null default 0, primary key ("tenant_id", "id"));`,
    );
    this.addSql(
      `create index "conversations_tenant_last_message_idx" on "conversations" ("tenant_id", "last_message_at");`,
    );

    this.addSql(
      `alter table "messages" add constraint "messages_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "messages" add constraint "messages_direction_check" check ("direction" in ('in', 'out'));`,
    );
    this.addSql(
      `alter table "messages" add constraint "messages_status_check" check ("status" in ('received', 'routed', 'replied', 'failed', 'delivered', 'rejected'));`,
    );
    this.addSql(`alter table "messages" enable row level security;`);
    this.addSql(`alter table "messages" force row level security;`);
    this.addSql(
      `create policy "messages_tenant_isolation" on "messages" using (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid) with check (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid);`,
    );

    this.addSql(
      `alter table "llm_usage" add constraint "llm_usage_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`,
    );
    this.addSql(`alter table "llm_usage" enable row level security;`);
    this.addSql(`alter table "llm_usage" force row level security;`);
    this.addSql(
      `create policy "llm_usage_tenant_isolation" on "llm_usage" using (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid) with check (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid);`,
    );

    this.addSql(
      `alter table "delivery_receipts" add constraint "delivery_receipts_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "delivery_receipts" add constraint "delivery_receipts_status_check" check ("status" in ('warning', 'sent', 'delivered', 'read', 'failed', 'deleted'));`,
    );
    this.addSql(`alter table "delivery_receipts" enable row level security;`);
    this.addSql(`alter table "delivery_receipts" force row level security;`);
    this.addSql(
      `create policy "delivery_receipts_tenant_isolation" on "delivery_receipts" using (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid) with check (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid);`,
    );

    this.addSql(
      `alter table "deliveries" add constraint "deliveries_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "deliveries" add constraint "deliveries_outcome_check" check ("outcome" in ('succeeded', 'failed'));`,
    );
    this.addSql(
      `alter table "deliveries" add constraint "deliveries_platform_status_check" check ("platform_status" in ('warning', 'sent', 'delivered', 'read', 'failed', 'deleted'));`,
    );
    this.addSql(`alter table "deliveries" enable row level security;`);
    this.addSql(`alter table "deliveries" force row level security;`);
    this.addSql(
      `create policy "deliveries_tenant_isolation" on "deliveries" using (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid) with check (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid);`,
    );

    this.addSql(
      `alter table "conversations" add constraint "conversations_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on delete cascade;`,
    );
    this.addSql(`alter table "conversations" enable row level security;`);
    this.addSql(`alter table "conversations" force row level security;`);
    this.addSql(
      `create policy "conversations_tenant_isolation" on "conversations" using (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid) with check (tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid);`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "messages" cascade;`);
    this.addSql(`drop table if exists "llm_usage" cascade;`);
    this.addSql(`drop table if exists "delivery_receipts" cascade;`);
    this.addSql(`drop table if exists "deliveries" cascade;`);
    this.addSql(`drop table if exists "conversations" cascade;`);
  }
}
