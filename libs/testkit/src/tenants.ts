import { randomBytes } from 'node:crypto';
import { connectChannel, createTenant, type Database, type TenantView } from '@konstruct/db';
import { FIXTURE_IDS } from './fixtures.ts';

/**
 * Creates a tenant of its own (slug `<slugPrefix>-<random>`) whose Slack connection is the fixtures' workspace
 * and bot, so the Slack fixtures a test or benchmark sends resolve to it. `key` encrypts the bot token.
 */
export async function createFixtureSlackTenant(
  orm: Database,
  key: Buffer,
  { name, slugPrefix }: { name: string; slugPrefix: string },
): Promise<TenantView> {
  const tenant = await createTenant(orm, { name, slug: `${slugPrefix}-${randomBytes(3).toString('hex')}` });
  await connectChannel(orm, key, tenant.id, {
    channelType: 'slack',
    workspaceId: FIXTURE_IDS.slackTeam,
    botToken: 'xoxb-fixture-token',
    botUserId: FIXTURE_IDS.slackBotUser,
    botId: FIXTURE_IDS.slackBotId,
  });
  return tenant;
}
