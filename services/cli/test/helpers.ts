import { randomBytes } from 'node:crypto';
import { main } from '@konstruct/cli';
import type { TestBus, TestDatabase } from '@konstruct/testkit';

/** What one in-process run of the CLI printed and returned. */
export interface Run {
  code: number;
  out: string[];
  err: string[];
}

/** The environment that points the CLI at a test database and a test bus's streams and subject prefix. */
export function cliEnv(db: TestDatabase, bus?: TestBus): Record<string, string> {
  return {
    DATABASE_URL: db.appUrl,
    DATABASE_OWNER_URL: db.ownerUrl,
    CREDENTIALS_KEY: randomBytes(32).toString('base64'),
    ...(bus
      ? {
          NATS_URL: bus.natsUrl,
          NATS_STREAM: bus.topology.streams.events,
          NATS_OPS_STREAM: bus.topology.streams.ops,
          NATS_SUBJECT_PREFIX: bus.topology.prefix,
        }
      : {}),
  };
}

/** Runs `konstruct <args>` in-process, as the bin would, capturing its output. */
export async function konstruct(env: Record<string, string>, args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, env, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    readStdin: async () => '',
  });
  return { code, out, err };
}

/** Creates a tenant through the CLI and returns its id. */
export async function createTenant(env: Record<string, string>, slug: string): Promise<string> {
  const run = await konstruct(env, ['tenant', 'create', '--name', slug, '--slug', slug, '--json']);
  if (run.code !== 0) throw new Error(run.err.join('\n'));
  return JSON.parse(run.out[0]!).id as string;
}

/** Waits until `condition` holds, polling. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
