import { randomBytes } from 'node:crypto';
import {
  Agent,
  connectChannel,
  createAgent,
  createPortalUser,
  createTenant,
  listAgents,
  PortalUser,
  resolveConnection,
  systemScope,
  tenantScope,
  verifyPassword,
} from '@konstruct/db';
import { createTestDatabase, type TestDatabase } from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const key = randomBytes(32);
let db: TestDatabase;
let tenantA: string;
let tenantB: string;
let agentB: string;

beforeAll(async () => {
  db = await createTestDatabase();
  tenantA = (await createTenant(db.orm, { name: 'Acme', slug: 'acme' })).id;
  tenantB = (await createTenant(db.orm, { name: 'Globex', slug: 'globex' })).id;
  await createAgent(db.orm, tenantA, { name: 'Mara', role: 'support' });
  agentB = (await createAgent(db.orm, tenantB, { name: 'Hank', role: 'sales' })).id;
});

afterAll(async () => {
  await db?.drop();
});

describe('row-level security as konstruct_app', () => {
  it("tenant A's unit of work reads only A's agents through the ORM", async () => {
    const agents = await tenantScope(db.orm, tenantA).find(Agent, {});
    expect(agents.map((a) => a.name)).toEqual(['Mara']);
  });

  it('the database hides B even when the ORM filter is switched off', async () => {
    const agents = await tenantScope(db.orm, tenantA).find(Agent, {}, { filters: false });
    expect(agents.map((a) => a.name)).toEqual(['Mara']);
    const byId = await tenantScope(db.orm, tenantA).findOne(Agent, { id: agentB }, { filters: false });
    expect(byId).toBeNull();
  });

  it("raw SQL through em.execute sees only A's rows", async () => {
    const rows = await tenantScope(db.orm, tenantA).execute<{ name: string }[]>(
      'select name from agents order by name',
    );
    expect(rows.map((r) => r.name)).toEqual(['Mara']);
  });

  it("a native update or delete from A's unit of work cannot touch B's rows", async () => {
    const em = tenantScope(db.orm, tenantA);
    const updated = await em.nativeUpdate(Agent, { id: agentB }, { name: 'pwned' }, { filters: false });
    expect(updated).toBe(0);
    const raw = await em.execute(`update agents set name = 'pwned' where id = ?`, [agentB], 'run');
    expect(raw).toMatchObject({ affectedRows: 0 });
    const deleted = await em.nativeDelete(Agent, { id: agentB }, { filters: false });
    expect(deleted).toBe(0);
    const [b] = await listAgents(db.orm, tenantB);
    expect(b?.name).toBe('Hank');
  });

  it("a write of a B row from A's unit of work is refused", async () => {
    const em = tenantScope(db.orm, tenantA);
    await expect(
      em.execute(
        `insert into agents (id, tenant_id, name, role, created_at, updated_at) values (gen_random_uuid(), ?, 'x', 'y', now(), now())`,
        [tenantB],
      ),
    ).rejects.toThrow(/row-level security/);
    em.create(Agent, { tenant: tenantB, name: 'Intruder', role: 'spy' } as never);
    await expect(em.flush()).rejects.toThrow(/row-level security/);
    expect((await listAgents(db.orm, tenantB)).map((a) => a.name)).toEqual(['Hank']);
  });

  it('with no tenant set, every tenant table reads empty and writes fail', async () => {
    const em = systemScope(db.orm);
    for (const table of await tenantTables()) {
      const rows = await em.execute(`select count(*)::int as n from "${table}"`);
      expect(rows[0], table).toEqual({ n: 0 });
    }
    await expect(
      em.execute(
        `insert into agents (id, tenant_id, name, role, created_at, updated_at) values (gen_random_uuid(), ?, 'x', 'y', now(), now())`,
        [tenantA],
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('the ORM refuses a tenant entity query with no tenant in scope', async () => {
    await expect(systemScope(db.orm).find(Agent, {})).rejects.toThrow(/tenant/);
  });
});

describe('the database roles and catalog', () => {
  it('konstruct_app is neither superuser nor BYPASSRLS nor the owner of any table', async () => {
    const [role] = await db.superSql(
      `select rolsuper, rolbypassrls from pg_roles where rolname = 'konstruct_app'`,
    );
    expect(role).toBe('f\tf');
    const owned = await db.superSql(
      `select c.relname from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname = 'konstruct_app'`,
    );
    expect(owned).toEqual([]);
  });

  it('every table with a tenant_id column has row-level security enabled and forced', async () => {
    const tables = await db.superSql(`
      select c.relname, c.relrowsecurity, c.relforcerowsecurity
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'p')
         and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
       order by 1`);
    expect(tables.length).toBeGreaterThanOrEqual(3);
    for (const line of tables) {
      const [name, enabled, forced] = line.split('\t');
      expect({ name, enabled, forced }).toEqual({ name, enabled: 't', forced: 't' });
    }
  });

  it('every tenant table carries the tenant policy for USING and WITH CHECK', async () => {
    for (const table of await tenantTables()) {
      const [policy] = await db.superSql(
        `select qual, with_check from pg_policies where tablename = '${table}' and policyname = '${table}_tenant_isolation'`,
      );
      expect(policy, table).toMatch(
        /current_setting\('app\.current_tenant'::text, true\).*\t.*current_setting/,
      );
    }
  });
});

describe('the workspace → tenant lookup', () => {
  it('resolves a connected workspace through the SECURITY DEFINER function, and nothing else', async () => {
    const connection = await connectChannel(db.orm, key, tenantB, {
      channelType: 'slack',
      workspaceId: 'T0GLOBEX01',
      botToken: 'xoxb-globex-token',
      botUserId: 'U0HANK0001',
    });
    const resolved = await resolveConnection(db.orm, key, 'slack', 'T0GLOBEX01');
    expect(resolved).toMatchObject({ tenantId: tenantB, connectionId: connection.id, enabled: true });
    expect(resolved?.credentials).toEqual({ botToken: 'xoxb-globex-token' });
    expect(await resolveConnection(db.orm, key, 'slack', 'T0UNKNOWN1')).toBeUndefined();
    const [definer] = await db.superSql(
      `select prosecdef, proconfig::text from pg_proc where proname = 'resolve_channel_connection'`,
    );
    expect(definer).toBe('t\t{"search_path=pg_catalog, pg_temp"}');
  });

  it('stores credentials sealed, never in clear text', async () => {
    const [stored] = await db.superSql(
      `select credentials from channel_connections where workspace_id = 'T0GLOBEX01'`,
    );
    expect(stored).toMatch(/^v1:/);
    expect(stored).not.toContain('xoxb-globex-token');
  });
});

describe('portal users', () => {
  it('hashes the password with argon2id and records the tenants the user may act for', async () => {
    const user = await createPortalUser(db.orm, {
      email: 'Ops@Acme.example',
      password: 'correct horse battery staple',
      role: 'customer_admin',
      tenantIds: [tenantA],
    });
    expect(user.email).toBe('ops@acme.example');
    const stored = await systemScope(db.orm).findOneOrFail(PortalUser, { id: user.id });
    expect(stored.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(stored.passwordHash, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(stored.passwordHash, 'wrong')).toBe(false);
    const inA = await tenantScope(db.orm, tenantA).execute('select user_id from portal_memberships');
    const inB = await tenantScope(db.orm, tenantB).execute('select user_id from portal_memberships');
    expect(inA).toEqual([{ user_id: user.id }]);
    expect(inB).toEqual([]);
  });
});

async function tenantTables(): Promise<string[]> {
  return db.superSql(`
    select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'r'
       and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id')
     order by 1`);
}
