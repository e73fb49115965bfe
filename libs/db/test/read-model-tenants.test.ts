import { randomUUID } from 'node:crypto';
import { createTenant, systemScope, Tenant, tenantScope, withTenant } from '@konstruct/db';
import { createTestDatabase, type TestDatabase } from '@konstruct/testkit';
import { ForeignKeyConstraintViolationException } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** One row of each read model, with its required columns, keyed by `key`. */
const ROWS: Record<string, (key: string) => string> = {
  messages: (key) =>
    `insert into messages (tenant_id, event_id, direction, status, last_event_at)
     values (current_setting('app.current_tenant')::uuid, '${key}', 'in', 'received', now())`,
  conversations: (key) =>
    `insert into conversations (tenant_id, id, channel, workspace_id, channel_id, thread_id, first_message_at, last_message_at)
     values (current_setting('app.current_tenant')::uuid, '${key}', 'slack', 'T1', 'C1', '1.1', now(), now())`,
  deliveries: (key) =>
    `insert into deliveries (tenant_id, event_id, reply_event_id, in_reply_to, channel, workspace_id, channel_id, thread_id, outcome, response, at)
     values (current_setting('app.current_tenant')::uuid, '${key}', 'r', 'i', 'slack', 'T1', 'C1', '1.1', 'succeeded', '{}', now())`,
  delivery_receipts: (key) =>
    `insert into delivery_receipts (tenant_id, channel, workspace_id, platform_message_id, status, at, recipient_id, errors)
     values (current_setting('app.current_tenant')::uuid, 'whatsapp', 'W1', '${key}', 'sent', now(), '1555', '[]')`,
  llm_usage: (key) =>
    `insert into llm_usage (tenant_id, event_id, agent_id, conversation_id, kind, model, prompt_tokens, completion_tokens, at)
     values (current_setting('app.current_tenant')::uuid, '${key}', gen_random_uuid(), 'c', 'answer', 'm', 1, 1, now())`,
};
const TABLES = Object.keys(ROWS);

let db: TestDatabase;
let acme: string;
let globex: string;

/** Rows per table of one tenant, read as the superuser (past row-level security). */
async function counts(tenantId: string): Promise<Record<string, number>> {
  const [line] = await db.superSql(
    `select ${TABLES.map((t) => `(select count(*) from ${t} where tenant_id = '${tenantId}')`).join(', ')}`,
  );
  return Object.fromEntries(line!.split('\t').map((n, i) => [TABLES[i]!, Number(n)]));
}

async function writeEveryTable(tenantId: string, key: string): Promise<void> {
  await withTenant(db.orm, tenantId, async (em) => {
    for (const table of TABLES) await em.execute(ROWS[table]!(key));
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  acme = (await createTenant(db.orm, { name: 'Acme', slug: 'acme' })).id;
  globex = (await createTenant(db.orm, { name: 'Globex', slug: 'globex' })).id;
});

afterAll(async () => {
  await db?.drop();
});

describe("the read models' tenant, checked per statement", () => {
  it.each(TABLES)('refuses a %s row of a tenant that does not exist, and writes nothing', async (table) => {
    const ghost = randomUUID();
    const write = tenantScope(db.orm, ghost).execute(ROWS[table]!('k1'));
    await expect(write).rejects.toBeInstanceOf(ForeignKeyConstraintViolationException);
    await expect(write).rejects.toThrow(`violates foreign key constraint "${table}_tenant_id_foreign"`);
    expect(await db.superSql(`select count(*) from ${table} where tenant_id = '${ghost}'`)).toEqual(['0']);
  });

  it('refuses an update that moves rows to a tenant that does not exist', async () => {
    const tenant = (await createTenant(db.orm, { name: 'Initech', slug: 'initech' })).id;
    await writeEveryTable(tenant, 'moving');
    // only a superuser gets past row-level security to try it
    await expect(
      db.superSql(`update messages set tenant_id = '${randomUUID()}' where tenant_id = '${tenant}'`),
    ).rejects.toThrow(/violates foreign key constraint "messages_tenant_id_foreign"/);
    expect((await counts(tenant)).messages).toBe(1);
  });

  it('refuses a statement whose rows name several tenants when one of them does not exist', async () => {
    const ghost = randomUUID();
    const row = (tenant: string, key: string) => `('${tenant}', '${key}', 'in', 'received', now())`;
    // only a superuser gets past row-level security to write several tenants' rows at once
    await expect(
      db.superSql(
        `insert into messages (tenant_id, event_id, direction, status, last_event_at)
         values ${row(acme, 'mixed-1')}, ${row(ghost, 'mixed-2')}, ${row(globex, 'mixed-3')}`,
      ),
    ).rejects.toThrow(
      new RegExp(`violates foreign key constraint "messages_tenant_id_foreign"[\\s\\S]*${ghost}`),
    );
    expect(await db.superSql(`select count(*) from messages where event_id like 'mixed-%'`)).toEqual(['0']);
    await db.superSql(
      `insert into messages (tenant_id, event_id, direction, status, last_event_at)
       values ${row(acme, 'mixed-4')}, ${row(globex, 'mixed-5')}`,
    );
    expect(await db.superSql(`select count(*) from messages where event_id like 'mixed-%'`)).toEqual(['2']);
    await db.superSql(`delete from messages where event_id like 'mixed-%'`);
  });

  it("deleting a tenant deletes its rows of every read model and no other tenant's", async () => {
    const doomed = (await createTenant(db.orm, { name: 'Umbrella', slug: 'umbrella' })).id;
    await writeEveryTable(doomed, 'd1');
    await writeEveryTable(doomed, 'd2');
    await writeEveryTable(acme, 'a1');
    await writeEveryTable(globex, 'g1');
    const all = (n: number) => Object.fromEntries(TABLES.map((t) => [t, n]));
    expect(await counts(doomed)).toEqual(all(2));

    await systemScope(db.orm).nativeDelete(Tenant, { id: doomed });

    expect(await counts(doomed)).toEqual(all(0));
    expect(await counts(acme)).toEqual(all(1));
    expect(await counts(globex)).toEqual(all(1));
  });

  it('a tenant is not deleted under rows being written for it: the deletion waits, then takes them too', async () => {
    const tenant = (await createTenant(db.orm, { name: 'Hooli', slug: 'hooli' })).id;
    const written = Promise.withResolvers<void>();
    const commit = Promise.withResolvers<void>();
    const writing = withTenant(db.orm, tenant, async (em) => {
      await em.execute(ROWS.messages!('in-flight'));
      written.resolve();
      await commit.promise;
    });
    await written.promise;
    let deleted = false;
    const deletion = systemScope(db.orm)
      .nativeDelete(Tenant, { id: tenant })
      .then((n) => {
        deleted = true;
        return n;
      });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(deleted).toBe(false);
    commit.resolve();
    await writing;
    expect(await deletion).toBe(1);
    expect((await counts(tenant)).messages).toBe(0);
  });
});
