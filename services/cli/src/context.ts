import { type Config, loadConfig } from '@konstruct/config';
import { createLogger, type Logger } from '@konstruct/core';
import { credentialsKey, type Database, getTenant, openDatabase, type TenantView } from '@konstruct/db';

/** What every command gets: lazily opened resources, and where to print. */
export interface CliContext {
  env: Record<string, string | undefined>;
  /** Lines for the person at the terminal. */
  out: (line: string) => void;
  /** The app-role database (under RLS), opened on first use. */
  db(): Promise<Database>;
  /** The owner-role database, for migrations only. */
  ownerDb(): Promise<Database>;
  /** Settings of the given sections. */
  config<S extends Parameters<typeof loadConfig>[1][number]>(sections: readonly S[]): Config<S>;
  /** The credentials key from config. */
  credentialsKey(): Buffer;
  /** Resolves `--tenant SLUG|ID`; NotFoundError names it. */
  tenant(slugOrId: string): Promise<TenantView>;
  logger: Logger;
  /** Closes what was opened. */
  close(): Promise<void>;
}

/** Builds the context for one CLI run. */
export function createCliContext(
  env: Record<string, string | undefined>,
  out: (line: string) => void,
): CliContext {
  const opened: Database[] = [];
  let app: Promise<Database> | undefined;
  let owner: Promise<Database> | undefined;
  const logger = createLogger({ service: 'cli', level: env.LOG_LEVEL === 'debug' ? 'debug' : 'warn' });
  const context: CliContext = {
    env,
    out,
    logger,
    config: (sections) => loadConfig(env, sections),
    db() {
      app ??= openDatabase({ url: loadConfig(env, ['database']).DATABASE_URL, poolMax: 2 }).then((orm) => {
        opened.push(orm);
        return orm;
      });
      return app;
    },
    ownerDb() {
      owner ??= openDatabase({ url: loadConfig(env, ['database']).DATABASE_OWNER_URL, poolMax: 1 }).then(
        (orm) => {
          opened.push(orm);
          return orm;
        },
      );
      return owner;
    },
    credentialsKey: () => credentialsKey(loadConfig(env, ['database']).CREDENTIALS_KEY),
    async tenant(slugOrId) {
      return getTenant(await context.db(), slugOrId);
    },
    async close() {
      await Promise.all(opened.map((orm) => orm.close(true)));
    },
  };
  return context;
}
