import { randomBytes } from 'node:crypto';
import { main } from '@konstruct/cli';
import { createTestDatabase, type TestDatabase } from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let db: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  env = {
    DATABASE_URL: db.appUrl,
    DATABASE_OWNER_URL: db.ownerUrl,
    CREDENTIALS_KEY: randomBytes(32).toString('base64'),
  };
});
afterAll(async () => {
  await db?.drop();
});

async function konstruct(
  args: string[],
  stdin = '',
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, env, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    readStdin: async () => stdin,
  });
  return { code, out, err };
}

async function count(table: string): Promise<number> {
  const [n] = await db.superSql(`select count(*) from ${table}`);
  return Number(n);
}

describe('konstruct setup commands', () => {
  it('migrate reports an up-to-date database when run again', async () => {
    const run = await konstruct(['migrate']);
    expect(run).toMatchObject({ code: 0, out: ['database is up to date'] });
  });

  it('sets a tenant up end to end: tenant, agent, Slack and WhatsApp connections, a portal user', async () => {
    const tenant = await konstruct(['tenant', 'create', '--name', 'Acme Corp', '--slug', 'acme', '--json']);
    expect(tenant.code).toBe(0);
    const { id } = JSON.parse(tenant.out[0]!);
    expect(
      (await konstruct(['agent', 'create', '--tenant', 'acme', '--name', 'Mara', '--role', 'support']))
        .out[0],
    ).toMatch(/^created agent Mara \([0-9a-f-]{36}\) for acme$/);
    const slack = await konstruct([
      'channel',
      'connect',
      'slack',
      '--tenant',
      'acme',
      '--team-id',
      'T0ACME0001',
      '--bot-token',
      'xoxb-123-456',
      '--bot-user-id',
      'U0BOTMARA',
    ]);
    expect(slack.out[0]).toMatch(/^connected slack workspace T0ACME0001 to acme/);
    const wa = await konstruct([
      'channel',
      'connect',
      'whatsapp',
      '--tenant',
      id,
      '--phone-number-id',
      '106540352242922',
      '--access-token',
      'EAAG-token',
    ]);
    expect(wa.code).toBe(0);
    const user = await konstruct(
      ['user', 'create', '--email', 'Ops@Acme.example', '--role', 'customer_admin', '--tenant', 'acme'],
      'a long enough secret\n',
    );
    expect(user.out[0]).toMatch(/^created customer_admin ops@acme\.example .* for acme$/);
    const list = await konstruct(['channel', 'list', '--tenant', 'acme', '--json']);
    expect(list.out.map((l) => JSON.parse(l).workspaceId).sort()).toEqual(['106540352242922', 'T0ACME0001']);
    expect(list.out.join('\n')).not.toContain('xoxb-123-456');
  });

  it.each([
    [
      ['tenant', 'create', '--name', 'Bad', '--slug', 'Bad_Slug'],
      /^konstruct: slug: a slug is 2–50 lowercase/,
      'tenants',
    ],
    [
      ['tenant', 'create', '--name', 'Again', '--slug', 'acme'],
      /^konstruct: tenant "acme" already exists/,
      'tenants',
    ],
    [
      ['agent', 'create', '--tenant', 'nobody', '--name', 'X', '--role', 'y'],
      /^konstruct: no tenant "nobody"$/,
      'tenants',
    ],
    [
      [
        'channel',
        'connect',
        'slack',
        '--tenant',
        'acme',
        '--team-id',
        'T0ACME0001',
        '--bot-token',
        'xoxb-9',
        '--bot-user-id',
        'U0OTHER01',
      ],
      /^konstruct: slack workspace T0ACME0001 already exists/,
      'tenants',
    ],
  ])('refuses %j with one clear line, a non-zero exit, and changes nothing', async (args, message) => {
    const before = await Promise.all(['tenants', 'portal_users'].map(count));
    const connections = await db.superSql('select count(*) from channel_connections');
    const run = await konstruct(args);
    expect(run.code).toBe(1);
    expect(run.err).toHaveLength(1);
    expect(run.err[0]).toMatch(message);
    expect(await Promise.all(['tenants', 'portal_users'].map(count))).toEqual(before);
    expect(await db.superSql('select count(*) from channel_connections')).toEqual(connections);
  });

  it('refuses a duplicate email whatever its case, and changes nothing', async () => {
    const before = await count('portal_users');
    const run = await konstruct(
      ['user', 'create', '--email', 'OPS@acme.example', '--role', 'customer_admin', '--tenant', 'acme'],
      'another long secret',
    );
    expect(run.code).toBe(1);
    expect(run.err).toEqual([
      'konstruct: portal user ops@acme.example already exists (portal_users_email_unique)',
    ]);
    expect(await count('portal_users')).toBe(before);
  });

  it('a usage error exits 2 and names the missing option', async () => {
    const run = await konstruct(['tenant', 'create', '--slug', 'x1']);
    expect(run.code).toBe(2);
    expect(run.err.join('\n')).toMatch(/required option '--name <name>' not specified/);
  });

  it('names every missing or invalid setting when the configuration is wrong', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      ['tenant', 'list'],
      { DATABASE_URL: 'not a url', CREDENTIALS_KEY: 'short' },
      {
        out: (l) => out.push(l),
        err: (l) => err.push(l),
        readStdin: async () => '',
      },
    );
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/DATABASE_URL/);
    expect(err.join('\n')).toMatch(/CREDENTIALS_KEY: must be 32 bytes/);
  });
});
