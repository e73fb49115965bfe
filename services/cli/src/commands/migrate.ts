import { migrate } from '@konstruct/db';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/** `konstruct migrate`: applies pending migrations as the owner role. */
export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('apply pending database migrations (connects as DATABASE_OWNER_URL)')
    .action(async () => {
      const applied = await migrate(await ctx.ownerDb());
      ctx.out(
        applied.length === 0
          ? 'database is up to date'
          : `applied ${applied.length} migration(s): ${applied.join(', ')}`,
      );
    });
}
