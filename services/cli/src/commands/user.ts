import { ValidationError } from '@konstruct/core';
import { createPortalUser, PORTAL_ROLES } from '@konstruct/db';
import { type Command, Option } from 'commander';
import type { CliContext } from '../context.ts';
import { collect } from './parse.ts';

/** `konstruct user create`. The password comes from stdin, never from argv (where `ps` would show it). */
export function registerUser(program: Command, ctx: CliContext, readStdin: () => Promise<string>): void {
  const user = program.command('user').description('people who sign in to the portal');
  user
    .command('create')
    .description('create a portal user; the password is read from standard input')
    .requiredOption('--email <email>', 'their email address (unique)')
    .addOption(
      new Option('--role <role>', 'what they may do').choices([...PORTAL_ROLES]).makeOptionMandatory(),
    )
    .option('--tenant <slug>', 'a tenant they may act for (repeatable)', collect, [])
    .action(async (opts: { email: string; role: (typeof PORTAL_ROLES)[number]; tenant: string[] }) => {
      const password = (await readStdin()).replace(/\r?\n$/, '');
      if (!password)
        throw new ValidationError(
          'no password on standard input (e.g. echo "$PASSWORD" | konstruct user create …)',
        );
      const tenants = await Promise.all(opts.tenant.map((t) => ctx.tenant(t)));
      const created = await createPortalUser(await ctx.db(), {
        email: opts.email,
        password,
        role: opts.role,
        tenantIds: tenants.map((t) => t.id),
      });
      ctx.out(
        `created ${created.role} ${created.email} (${created.id})${tenants.length ? ` for ${tenants.map((t) => t.slug).join(', ')}` : ''}`,
      );
    });
}
