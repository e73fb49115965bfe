import { createTenant, listTenants } from '@konstruct/db';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { table } from '../output.ts';
import { positiveInt } from './parse.ts';

/** `konstruct tenant create|list`. */
export function registerTenant(program: Command, ctx: CliContext): void {
  const tenant = program.command('tenant').description('businesses that hire agents');
  tenant
    .command('create')
    .description('create a tenant')
    .requiredOption('--name <name>', 'display name, e.g. "Acme Corp"')
    .requiredOption('--slug <slug>', 'lowercase letters, digits and hyphens, 2–50 characters')
    .option(
      '--rate-limit <messages>',
      'messages per window per channel (default: platform setting)',
      positiveInt,
    )
    .option(
      '--rate-window <seconds>',
      'rate limit window in seconds (default: platform setting)',
      positiveInt,
    )
    .option('--json', 'print the tenant as JSON')
    .action(
      async (opts: {
        name: string;
        slug: string;
        rateLimit?: number;
        rateWindow?: number;
        json?: boolean;
      }) => {
        const created = await createTenant(await ctx.db(), {
          name: opts.name,
          slug: opts.slug,
          ...(opts.rateLimit ? { rateLimitMessages: opts.rateLimit } : {}),
          ...(opts.rateWindow ? { rateLimitWindowSeconds: opts.rateWindow } : {}),
        });
        ctx.out(opts.json ? JSON.stringify(created) : `created tenant ${created.slug} (${created.id})`);
      },
    );
  tenant
    .command('list')
    .description('list tenants')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { json?: boolean }) => {
      const tenants = await listTenants(await ctx.db());
      if (opts.json) for (const t of tenants) ctx.out(JSON.stringify(t));
      else
        ctx.out(
          table(tenants as never, ['slug', 'name', 'id', 'rateLimitMessages', 'rateLimitWindowSeconds']),
        );
    });
}
