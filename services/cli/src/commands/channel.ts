import { connectChannel, listConnections } from '@konstruct/db';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { table } from '../output.ts';

/** `konstruct channel connect slack|whatsapp`, `konstruct channel list`. */
export function registerChannel(program: Command, ctx: CliContext): void {
  const channel = program
    .command('channel')
    .description('Slack workspaces and WhatsApp numbers connected to a tenant');
  const connect = channel.command('connect').description('connect a workspace or number to a tenant');
  connect
    .command('slack')
    .description('connect a Slack workspace (team)')
    .requiredOption('--tenant <slug>', 'the tenant (slug or id)')
    .requiredOption('--team-id <id>', 'the Slack team id, e.g. T0ACME0001')
    .requiredOption('--bot-token <token>', 'the bot token (xoxb-…)')
    .requiredOption('--bot-user-id <id>', "the bot's user id, e.g. U0BOTMARA")
    .option('--bot-id <id>', "the bot's bot id, e.g. B0MARABOT1")
    .option('--signing-secret <secret>', "this workspace's own app signing secret (bring-your-own app)")
    .option('--agent <id>', 'the agent that answers here (default: the tenant’s only active agent)')
    .action(
      async (opts: {
        tenant: string;
        teamId: string;
        botToken: string;
        botUserId: string;
        botId?: string;
        signingSecret?: string;
        agent?: string;
      }) => {
        const tenant = await ctx.tenant(opts.tenant);
        const created = await connectChannel(await ctx.db(), ctx.credentialsKey(), tenant.id, {
          channelType: 'slack',
          workspaceId: opts.teamId,
          botToken: opts.botToken,
          botUserId: opts.botUserId,
          ...(opts.botId ? { botId: opts.botId } : {}),
          ...(opts.signingSecret ? { signingSecret: opts.signingSecret } : {}),
          ...(opts.agent ? { agentId: opts.agent } : {}),
        });
        ctx.out(`connected slack workspace ${created.workspaceId} to ${tenant.slug} (${created.id})`);
      },
    );
  connect
    .command('whatsapp')
    .description('connect a WhatsApp Business phone number')
    .requiredOption('--tenant <slug>', 'the tenant (slug or id)')
    .requiredOption('--phone-number-id <id>', 'the phone number id from Meta, e.g. 106540352242922')
    .requiredOption('--access-token <token>', 'a Graph API access token for the number')
    .option('--display-phone-number <number>', 'the number customers see, e.g. 15550783881')
    .option('--app-secret <secret>', "this number's own Meta app secret (bring-your-own app)")
    .option('--agent <id>', 'the agent that answers here (default: the tenant’s only active agent)')
    .action(
      async (opts: {
        tenant: string;
        phoneNumberId: string;
        accessToken: string;
        displayPhoneNumber?: string;
        appSecret?: string;
        agent?: string;
      }) => {
        const tenant = await ctx.tenant(opts.tenant);
        const created = await connectChannel(await ctx.db(), ctx.credentialsKey(), tenant.id, {
          channelType: 'whatsapp',
          workspaceId: opts.phoneNumberId,
          accessToken: opts.accessToken,
          ...(opts.displayPhoneNumber ? { displayPhoneNumber: opts.displayPhoneNumber } : {}),
          ...(opts.appSecret ? { appSecret: opts.appSecret } : {}),
          ...(opts.agent ? { agentId: opts.agent } : {}),
        });
        ctx.out(`connected whatsapp number ${created.workspaceId} to ${tenant.slug} (${created.id})`);
      },
    );
  channel
    .command('list')
    .description("list a tenant's channel connections (secrets are never shown)")
    .requiredOption('--tenant <slug>', 'the tenant (slug or id)')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      const tenant = await ctx.tenant(opts.tenant);
      const rows = await listConnections(await ctx.db(), tenant.id);
      if (opts.json) for (const r of rows) ctx.out(JSON.stringify(r));
      else ctx.out(table(rows as never, ['channelType', 'workspaceId', 'enabled', 'agentId', 'id']));
    });
}
