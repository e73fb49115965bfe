import { createAgent, listAgents } from '@konstruct/db';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { table } from '../output.ts';

/** `konstruct agent create|list`. */
export function registerAgent(program: Command, ctx: CliContext): void {
  const agent = program.command('agent').description("a tenant's AI employees");
  agent
    .command('create')
    .description('create an agent for a tenant')
    .requiredOption('--tenant <slug>', 'the tenant (slug or id)')
    .requiredOption('--name <name>', 'what the agent is called, e.g. "Mara"')
    .requiredOption('--role <role>', 'what it does, e.g. "customer support"')
    .option('--persona <text>', 'who it is and how it speaks')
    .option('--tone <text>', 'how it sounds', 'friendly and concise')
    .option('--system-prompt <text>', 'instructions placed first in every prompt')
    .option('--model-group <group>', 'llm-pool model group', 'fast')
    .option('--inactive', 'create it switched off')
    .option('--json', 'print the agent as JSON')
    .action(
      async (opts: {
        tenant: string;
        name: string;
        role: string;
        persona?: string;
        tone: string;
        systemPrompt?: string;
        modelGroup: string;
        inactive?: boolean;
        json?: boolean;
      }) => {
        const tenant = await ctx.tenant(opts.tenant);
        const created = await createAgent(await ctx.db(), tenant.id, {
          name: opts.name,
          role: opts.role,
          tone: opts.tone,
          modelGroup: opts.modelGroup,
          active: !opts.inactive,
          ...(opts.persona ? { persona: opts.persona } : {}),
          ...(opts.systemPrompt ? { systemPrompt: opts.systemPrompt } : {}),
        });
        ctx.out(
          opts.json
            ? JSON.stringify(created)
            : `created agent ${created.name} (${created.id}) for ${tenant.slug}`,
        );
      },
    );
  agent
    .command('list')
    .description("list a tenant's agents")
    .requiredOption('--tenant <slug>', 'the tenant (slug or id)')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      const tenant = await ctx.tenant(opts.tenant);
      const agents = await listAgents(await ctx.db(), tenant.id);
      if (opts.json) for (const a of agents) ctx.out(JSON.stringify(a));
      else ctx.out(table(agents as never, ['name', 'role', 'modelGroup', 'active', 'id']));
    });
}
