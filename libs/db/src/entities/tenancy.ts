import { randomUUID } from 'node:crypto';
import { defineEntity, type PolicyDef, p } from '@mikro-orm/core';

/** The session variable row-level security reads the current tenant from. */
export const TENANT_SETTING = 'app.current_tenant';

/** The role that owns the tables and runs migrations. */
export const OWNER_ROLE = 'konstruct_owner';

/** The role the services connect as: LOGIN, not superuser, no BYPASSRLS, not the owner. */
export const APP_ROLE = 'konstruct_app';

/** Name of the filter that is the second layer of tenant isolation, after row-level security. */
export const TENANT_FILTER = 'tenant';

/**
 * The policy every tenant table carries: rows are visible and writable only when their `tenant_id` is the
 * session's `app.current_tenant`. With no tenant set, `NULLIF(…, '')` yields NULL and nothing matches.
 */
export function tenantPolicy(table: string): PolicyDef {
  const expr = `tenant_id = NULLIF(current_setting('${TENANT_SETTING}', true), '')::uuid`;
  return { name: `${table}_tenant_isolation`, command: 'all', using: expr, check: expr };
}

/**
 * What every tenant entity shares: the policy (RLS enabled and forced) and the tenant filter that is on by
 * default, so a query without a tenant in scope fails loudly in the ORM before the database hides rows.
 */
export function tenantTable(table: string) {
  return {
    tableName: table,
    policies: [tenantPolicy(table)],
    rowLevelSecurity: 'force' as const,
    filters: {
      [TENANT_FILTER]: {
        name: TENANT_FILTER,
        cond: (args: Record<string, unknown>) => ({ tenant: args.tenantId }),
        default: true,
      },
    },
  };
}

const timestamps = {
  createdAt: p.datetime().onCreate(() => new Date()),
  updatedAt: p
    .datetime()
    .onCreate(() => new Date())
    .onUpdate(() => new Date()),
};

/** A business that hires agents. The registry of tenants is not tenant data: it has no RLS. */
export const Tenant = defineEntity({
  name: 'Tenant',
  tableName: 'tenants',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    name: p.string().length(200),
    /** Lowercase letters, digits and hyphens, 2–50 characters. */
    slug: p.string().length(50).unique(),
    /** Messages per window per channel; null means the platform default. */
    rateLimitMessages: p.integer().nullable(),
    rateLimitWindowSeconds: p.integer().nullable(),
    ...timestamps,
  },
});

/** An AI employee of a tenant. */
export const Agent = defineEntity({
  name: 'Agent',
  ...tenantTable('agents'),
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade'),
    name: p.string().length(100),
    /** What the agent does, e.g. "customer support". */
    role: p.string().length(200),
    /** Who the agent is and how it speaks. */
    persona: p.text().default(''),
    /** How it sounds, e.g. "warm and concise". */
    tone: p.string().length(200).default('friendly and concise'),
    systemPrompt: p.text().default(''),
    modelGroup: p.string().length(50).default('fast'),
    active: p.boolean().default(true),
    ...timestamps,
  },
});

/** How a tenant's workspace on a platform is connected: the Slack team or the WhatsApp phone number. */
export const ChannelConnection = defineEntity({
  name: 'ChannelConnection',
  ...tenantTable('channel_connections'),
  policies: [
    tenantPolicy('channel_connections'),
    // The workspace → tenant lookup must cross tenants. It runs only inside the SECURITY DEFINER function
    // resolve_channel_connection(), owned by the owner role; this read-only policy lets that function (and
    // nothing running as the app role) see every connection.
    { name: 'channel_connections_resolver', command: 'select', roles: [OWNER_ROLE], using: 'true' },
  ],
  uniques: [
    { name: 'channel_connections_channel_workspace_unique', properties: ['channelType', 'workspaceId'] },
  ],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade'),
    channelType: p.enum([
      'slack',
      'whatsapp',
      'web',
      'teams',
      'telegram',
      'mattermost',
      'rocketchat',
      'signal',
    ] as const),
    /** The Slack team id or the WhatsApp phone number id; unique per channel type. */
    workspaceId: p.string().length(100),
    /** The agent answering here; null means the tenant's only active agent. */
    agent: () => p.manyToOne(Agent).nullable().deleteRule('set null'),
    /** Non-secret settings: the Slack bot user id, the WhatsApp display number. */
    settings: p.json<Record<string, string>>().default('{}'),
    /** Tokens and per-connection secrets, AES-256-GCM sealed with the key from config. */
    credentials: p.text(),
    enabled: p.boolean().default(true),
    ...timestamps,
  },
});

/** The roles a portal user can have. */
export const PORTAL_ROLES = ['platform_admin', 'customer_admin', 'customer_operator'] as const;

/** A person who signs in to the portal. Users are global; what they may act for is {@link PortalMembership}. */
export const PortalUser = defineEntity({
  name: 'PortalUser',
  tableName: 'portal_users',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    email: p.string().length(320).unique(),
    /** argon2id. */
    passwordHash: p.string().length(200).hidden(),
    role: p.enum(PORTAL_ROLES),
    ...timestamps,
  },
});

/** That a portal user may act for a tenant. */
export const PortalMembership = defineEntity({
  name: 'PortalMembership',
  ...tenantTable('portal_memberships'),
  uniques: [{ name: 'portal_memberships_user_tenant_unique', properties: ['user', 'tenant'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    tenant: () => p.manyToOne(Tenant).deleteRule('cascade'),
    user: () => p.manyToOne(PortalUser).deleteRule('cascade'),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
