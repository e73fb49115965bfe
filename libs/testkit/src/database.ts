import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Database, migrate, openDatabase } from '@konstruct/db';

const run = promisify(execFile);
const INIT_DB = fileURLToPath(new URL('../../../scripts/init-db.sh', import.meta.url));

/** Where the test Postgres is; a superuser with trust auth on this machine and in CI. */
const PG = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: process.env.PGPORT ?? '5432',
  superuser: process.env.PGUSER ?? 'postgres',
};

/** A database of a test file's own, migrated, with the app role's ORM open. */
export interface TestDatabase {
  name: string;
  /** As konstruct_app: under row-level security. */
  appUrl: string;
  /** As konstruct_owner. */
  ownerUrl: string;
  /** The ORM connected as konstruct_app. */
  orm: Database;
  /** Runs SQL as the superuser in this database (for catalog checks), returning rows as tab-separated lines. */
  superSql(sql: string): Promise<string[]>;
  /** Closes the ORM and drops the database. */
  drop(): Promise<void>;
}

function psqlEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PGHOST: PG.host, PGPORT: PG.port, PGUSER: PG.superuser };
}

/**
 * Creates a database named `kt_<random>` through `scripts/init-db.sh` (the same script docker-compose's
 * Postgres runs), applies the migrations as the owner role, and opens the ORM as the app role.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `kt_${randomBytes(6).toString('hex')}`;
  await run('bash', [INIT_DB], { env: { ...psqlEnv(), KONSTRUCT_DB: name } });
  const base = `postgres://%s@${PG.host}:${PG.port}/${name}`;
  const ownerUrl = base.replace('%s', 'konstruct_owner');
  const appUrl = base.replace('%s', 'konstruct_app');
  const owner = await openDatabase({ url: ownerUrl, poolMax: 1 });
  await migrate(owner);
  await owner.close(true);
  const orm = await openDatabase({ url: appUrl, poolMax: 5 });
  return {
    name,
    appUrl,
    ownerUrl,
    orm,
    async superSql(sql: string) {
      const { stdout } = await run(
        'psql',
        ['-X', '-q', '-tA', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-d', name, '-c', sql],
        {
          env: psqlEnv(),
        },
      );
      return stdout.split('\n').filter((line) => line.length > 0);
    },
    async drop() {
      await orm.close(true);
      await run(
        'psql',
        [
          '-X',
          '-q',
          '-v',
          'ON_ERROR_STOP=1',
          '-d',
          'postgres',
          '-c',
          `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`,
        ],
        {
          env: psqlEnv(),
        },
      );
    },
  };
}
