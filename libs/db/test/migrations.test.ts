import { openDatabase } from '@konstruct/db';
import { createTestDatabase, type TestDatabase } from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsList } from '../src/migrations/index.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

/**
 * What the migrations make, read from the catalog: columns (with type and collation), constraints, indexes,
 * triggers, policies.
 */
interface Schema {
  columns: string[];
  constraints: string[];
  indexes: string[];
  triggers: string[];
  policies: string[];
}

async function schema(): Promise<Schema> {
  const of = (sql: string) => db.superSql(sql);
  return {
    columns: await of(`select table_name, column_name, data_type, is_nullable, coalesce(collation_name, '')
                         from information_schema.columns where table_schema = 'public' order by 1, 2`),
    constraints: await of(`select conrelid::regclass, conname, pg_get_constraintdef(oid)
                             from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2`),
    indexes: await of(`select indexdef from pg_indexes where schemaname = 'public' order by 1`),
    triggers: await of(`select tgrelid::regclass, tgname, pg_get_triggerdef(oid) from pg_trigger
                          where not tgisinternal order by 1, 2`),
    policies: await of(`select tablename, policyname, qual, with_check from pg_policies order by 1, 2`),
  };
}

describe('migrations', () => {
  it('each goes down to the schema before it, and all come back up to the same schema', async () => {
    const latest = await schema();
    const owner = await openDatabase({ url: db.ownerUrl, poolMax: 1 });
    try {
      await owner.migrator.down({ to: 0 });
      const empty = await schema();
      // nothing left but the migrator's own bookkeeping
      expect(new Set(empty.columns.map((c) => c.split('\t')[0]))).toEqual(new Set(['mikro_orm_migrations']));
      // the schema after each migration, applied one at a time
      const after: Schema[] = [];
      for (const { name } of migrationsList) {
        await owner.migrator.up({ to: name });
        after.push(await schema());
      }
      expect(after.at(-1)).toEqual(latest);
      // each down, one at a time from the last, leaves what was there before its up
      for (let i = migrationsList.length - 1; i >= 0; i--) {
        const [reverted] = await owner.migrator.down();
        expect(reverted?.name).toBe(migrationsList[i]!.name);
        expect(await schema()).toEqual(i === 0 ? empty : after[i - 1]);
      }
      await owner.migrator.up();
    } finally {
      await owner.close(true);
    }
    expect(await schema()).toEqual(latest);
  });
});
