import { isAppError } from '@konstruct/core';
import { Command, CommanderError } from 'commander';
import { registerAgent } from './commands/agent.ts';
import { registerAnalyst } from './commands/analyst.ts';
import { registerChannel } from './commands/channel.ts';
import { registerDlq } from './commands/dlq.ts';
import { registerEvents } from './commands/events.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerReplay } from './commands/replay.ts';
import { registerStreams } from './commands/streams.ts';
import { registerTenant } from './commands/tenant.ts';
import { registerUser } from './commands/user.ts';
import { createCliContext } from './context.ts';

/** Where the CLI writes; tests capture it. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  readStdin: () => Promise<string>;
}

const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  async readStdin() {
    if (process.stdin.isTTY) return '';
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

/**
 * Runs the `konstruct` command line and resolves to the exit code: 0 on success, 1 when the command was
 * refused or failed (one `konstruct: …` line on stderr, nothing changed), 2 for a usage error.
 */
export async function main(
  argv: string[],
  env: Record<string, string | undefined>,
  io: CliIo = processIo,
): Promise<number> {
  const ctx = createCliContext(env, io.out, io.err, io === processIo && process.stderr.isTTY === true);
  const program = new Command('konstruct')
    .description('Konstruct: AI employees in Slack and WhatsApp. Set up tenants and run operations.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showSuggestionAfterError();
  registerMigrate(program, ctx);
  registerTenant(program, ctx);
  registerAgent(program, ctx);
  registerChannel(program, ctx);
  registerUser(program, ctx, io.readStdin);
  for (const register of extraCommands) register(program, ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version are "errors" to commander; usage problems were already printed by it
      return error.exitCode === 0 ? 0 : 2;
    }
    io.err(`konstruct: ${isAppError(error) ? error.message : describeUnexpected(error)}`);
    if (env.LOG_LEVEL === 'debug') io.err(String((error as Error).stack));
    return 1;
  } finally {
    await ctx.close();
  }
}

function describeUnexpected(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/ECONNREFUSED|connect ETIMEDOUT/.test(message)) return `cannot reach a service: ${message}`;
  return message;
}

/** Command groups registered by other modules (the ops tools), each `(program, ctx) => void`. */
const extraCommands: ((program: Command, ctx: ReturnType<typeof createCliContext>) => void)[] = [
  registerEvents,
  registerReplay,
  registerDlq,
  registerStreams,
  registerAnalyst,
];
