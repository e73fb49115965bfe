import type { Logger } from '@konstruct/core';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { entities } from './entities/index.ts';
import { migrationsList } from './migrations/index.ts';

/** The ORM type the rest of Konstruct passes around. */
export type Database = MikroORM;

/** Options for {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** Connection URL; the app role for services, the owner role for migrations. */
  url: string;
  /** Pool size. @default 10 */
  poolMax?: number;
  /** Where ORM debug lines go (only at `debug` level). */
  logger?: Logger;
}

/** The ORM options shared by the app and migrations. */
export function ormOptions({ url, poolMax = 10, logger }: OpenDatabaseOptions): Options {
  return {
    clientUrl: url,
    entities,
    extensions: [Migrator],
    pool: { min: 0, max: poolMax },
    // the global EntityManager is refused: every unit of work forks one (tenantScope, systemScope)
    allowGlobalContext: false,
    ensureDatabase: false,
    debug: logger?.isLevelEnabled('debug') ?? false,
    ...(logger ? { logger: (message: string) => logger.debug({ orm: true }, message) } : {}),
    migrations: {
      migrationsList,
      transactional: true,
      // the CLI says what was applied; the migrator's own console lines would break JSON logs
      silent: true,
      allOrNothing: true,
      snapshot: false,
      tableName: 'mikro_orm_migrations',
    },
  };
}

/** Connects to Postgres. Pass the app role's URL for services, the owner's for {@link migrate}. */
export function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return MikroORM.init(ormOptions(options));
}

/** Applies every pending migration (as the owner role); returns the names applied. */
export async function migrate(orm: Database): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((m) => m.name);
}
