import { type Bus, connectBus } from '@konstruct/bus';
import { type Config, loadConfig } from '@konstruct/config';
import { createLogger, type Logger } from '@konstruct/core';
import { credentialsKey, type Database, getTenant, openDatabase, type TenantView } from '@konstruct/db';
import { type Topology, topology } from '@konstruct/names';

/** What every command gets: lazily opened resources, and where to print. */
export interface CliContext {
  env: Record<string, string | undefined>;
  /** Lines for the person at the terminal. */
  out: (line: string) => void;
  /** Lines about progress and problems (stderr), kept apart from `out` so `--json` output pipes cleanly. */
  err: (line: string) => void;
  /** True when stderr is an interactive terminal (progress bars draw there; otherwise plain lines). */
  stderrTty: boolean;
  /** NATS and the stream topology from config (`NATS_URL`, `NATS_STREAM`, …), connected on first use. */
  bus(): Promise<Bus & { topology: Topology }>;
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
  err: (line: string) => void = () => undefined,
  stderrTty = false,
): CliContext {
  const opened: Database[] = [];
  let nats: Promise<Bus & { topology: Topology }> | undefined;
  let app: Promise<Database> | undefined;
  let owner: Promise<Database> | undefined;
  const logger = createLogger({ service: 'cli', level: env.LOG_LEVEL === 'debug' ? 'debug' : 'warn' });
  const context: CliContext = {
    env,
    out,
    err,
    stderrTty,
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
    bus() {
      nats ??= (async () => {
        const settings = loadConfig(env, ['nats']);
        const bus = await connectBus({
          url: settings.NATS_URL,
          name: 'konstruct-cli',
          timeoutMs: 5_000,
          ...(settings.NATS_USER ? { user: settings.NATS_USER, pass: settings.NATS_PASSWORD } : {}),
        });
        return {
          ...bus,
          topology: topology({
            prefix: settings.NATS_SUBJECT_PREFIX,
            events: settings.NATS_STREAM,
            ops: settings.NATS_OPS_STREAM,
          }),
        };
      })();
      return nats;
    },
    credentialsKey: () => credentialsKey(loadConfig(env, ['database']).CREDENTIALS_KEY),
    async tenant(slugOrId) {
      return getTenant(await context.db(), slugOrId);
    },
    async close() {
      const connected = nats;
      nats = undefined;
      await Promise.all([
        ...opened.map((orm) => orm.close(true)),
        connected?.then(({ nc }) => nc.drain()).catch(() => undefined),
      ]);
    },
  };
  return context;
}
