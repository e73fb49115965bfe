import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '@konstruct/core';
import type { InferEntity } from '@mikro-orm/core';
import { z } from 'zod';
import { openCredentials, sealCredentials } from './credentials.ts';
import {
  Agent,
  ChannelConnection,
  PORTAL_ROLES,
  PortalMembership,
  PortalUser,
  Tenant,
} from './entities/index.ts';
import { translateDbError } from './errors.ts';
import type { Database } from './orm.ts';
import { hashPassword } from './passwords.ts';
import { systemScope, withTenant } from './tenancy.ts';

/** Lowercase letters, digits and hyphens, 2–50 characters, not starting or ending with a hyphen. */
export const Slug = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])$/,
    'a slug is 2–50 lowercase letters, digits and hyphens, not starting or ending with a hyphen',
  );

function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const first = result.error.issues[0];
    const where = first?.path.length ? `${first.path.join('.')}: ` : '';
    throw new ValidationError(`${where}${first?.message ?? 'invalid input'}`, { cause: result.error });
  }
  return result.data;
}

/** A tenant as the CLI and services see it. */
export interface TenantView {
  id: string;
  name: string;
  slug: string;
  rateLimitMessages: number | null;
  rateLimitWindowSeconds: number | null;
  createdAt: Date;
}

function tenantView(t: InferEntity<typeof Tenant>): TenantView {
  return {
    id: t.id,
    name: t.name,
    slug: t.slug,
    rateLimitMessages: t.rateLimitMessages ?? null,
    rateLimitWindowSeconds: t.rateLimitWindowSeconds ?? null,
    createdAt: t.createdAt,
  };
}

/** Input of {@link createTenant}. */
export const CreateTenantInput = z.object({
  name: z.string().trim().min(1, 'a name is required').max(200),
  slug: Slug,
  rateLimitMessages: z.number().int().positive().optional(),
  rateLimitWindowSeconds: z.number().int().positive().optional(),
});

/** Creates a tenant; a taken slug is a ConflictError. */
export async function createTenant(
  orm: Database,
  input: z.input<typeof CreateTenantInput>,
): Promise<TenantView> {
  const data = parse(CreateTenantInput, input);
  const em = systemScope(orm);
  try {
    const tenant = em.create(Tenant, {
      name: data.name,
      slug: data.slug,
      rateLimitMessages: data.rateLimitMessages ?? null,
      rateLimitWindowSeconds: data.rateLimitWindowSeconds ?? null,
    } as never);
    await em.flush();
    return tenantView(tenant);
  } catch (error) {
    throw translateDbError(error, `tenant "${data.slug}"`);
  }
}

/** Every tenant, by slug. */
export async function listTenants(orm: Database): Promise<TenantView[]> {
  const tenants = await systemScope(orm).find(Tenant, {}, { orderBy: { slug: 'asc' } });
  return tenants.map(tenantView);
}

/** Finds a tenant by slug or id; NotFoundError names what was asked for. */
export async function getTenant(orm: Database, slugOrId: string): Promise<TenantView> {
  const em = systemScope(orm);
  const isUuid = z.uuid().safeParse(slugOrId).success;
  const tenant = await em.findOne(Tenant, isUuid ? { id: slugOrId } : { slug: slugOrId });
  if (!tenant) throw new NotFoundError(`no tenant "${slugOrId}"`);
  return tenantView(tenant);
}

/** An agent as the CLI and services see it. */
export interface AgentView {
  id: string;
  tenantId: string;
  name: string;
  role: string;
  persona: string;
  tone: string;
  systemPrompt: string;
  modelGroup: string;
  active: boolean;
}

function agentView(a: InferEntity<typeof Agent>): AgentView {
  return {
    id: a.id,
    tenantId: a.tenant.id,
    name: a.name,
    role: a.role,
    persona: a.persona,
    tone: a.tone,
    systemPrompt: a.systemPrompt,
    modelGroup: a.modelGroup,
    active: a.active,
  };
}

/** Input of {@link createAgent}. */
export const CreateAgentInput = z.object({
  name: z.string().trim().min(1, 'a name is required').max(100),
  role: z.string().trim().min(1, 'a role is required').max(200),
  persona: z.string().max(10_000).default(''),
  tone: z.string().max(200).default('friendly and concise'),
  systemPrompt: z.string().max(20_000).default(''),
  modelGroup: z
    .string()
    .regex(/^[a-z0-9_-]{1,50}$/, 'a model group is lowercase letters, digits, "_" or "-"')
    .default('fast'),
  active: z.boolean().default(true),
});

/** Creates an agent for a tenant. */
export async function createAgent(
  orm: Database,
  tenantId: string,
  input: z.input<typeof CreateAgentInput>,
): Promise<AgentView> {
  const data = parse(CreateAgentInput, input);
  try {
    return await withTenant(orm, tenantId, async (em) => {
      const agent = em.create(Agent, { ...data, tenant: tenantId } as never);
      await em.flush();
      return agentView(agent);
    });
  } catch (error) {
    throw translateDbError(error, `agent "${data.name}"`);
  }
}

/** A tenant's agents. */
export async function listAgents(orm: Database, tenantId: string): Promise<AgentView[]> {
  return withTenant(orm, tenantId, async (em) => {
    const agents = await em.find(Agent, {}, { orderBy: { createdAt: 'asc' } });
    return agents.map(agentView);
  });
}

/** One agent of a tenant, or NotFoundError. */
export async function getAgent(orm: Database, tenantId: string, agentId: string): Promise<AgentView> {
  return withTenant(orm, tenantId, async (em) => {
    const agent = await em.findOne(Agent, { id: agentId });
    if (!agent) throw new NotFoundError(`no agent ${agentId} in tenant ${tenantId}`);
    return agentView(agent);
  });
}

/** Input of {@link connectChannel}. */
export const ConnectChannelInput = z.discriminatedUnion('channelType', [
  z.object({
    channelType: z.literal('slack'),
    /** The Slack team id, e.g. T0ACME0001. */
    workspaceId: z.string().regex(/^[TE][A-Z0-9]{2,30}$/, 'a Slack team id looks like T0ACME0001'),
    botToken: z.string().regex(/^xox[bp]-/, 'a Slack bot token starts with xoxb-'),
    /** The bot's user id, whose mentions are stripped and whose echoes are dropped. */
    botUserId: z.string().regex(/^[UW][A-Z0-9]{2,30}$/, 'a Slack user id looks like U0BOTMARA'),
    botId: z
      .string()
      .regex(/^B[A-Z0-9]{2,30}$/, 'a Slack bot id looks like B0MARABOT1')
      .optional(),
    /** For tenants that bring their own Slack app. */
    signingSecret: z.string().min(8).optional(),
    agentId: z.uuid().optional(),
  }),
  z.object({
    channelType: z.literal('whatsapp'),
    /** The WhatsApp phone number id, e.g. 106540352242922. */
    workspaceId: z.string().regex(/^\d{5,30}$/, 'a WhatsApp phone number id is digits'),
    accessToken: z.string().min(8, 'a Graph API access token is required'),
    displayPhoneNumber: z
      .string()
      .regex(/^\+?\d{5,20}$/)
      .optional(),
    /** For tenants that bring their own Meta app. */
    appSecret: z.string().min(8).optional(),
    agentId: z.uuid().optional(),
  }),
]);

/** A channel connection without its secrets. */
export interface ConnectionView {
  id: string;
  tenantId: string;
  channelType: string;
  workspaceId: string;
  agentId: string | null;
  settings: Record<string, string>;
  enabled: boolean;
}

function connectionView(c: InferEntity<typeof ChannelConnection>): ConnectionView {
  return {
    id: c.id,
    tenantId: c.tenant.id,
    channelType: c.channelType,
    workspaceId: c.workspaceId,
    agentId: c.agent?.id ?? null,
    settings: c.settings,
    enabled: c.enabled,
  };
}

/**
 * Connects a Slack workspace or WhatsApp number to a tenant, sealing its tokens with `key`. A workspace id
 * already connected (to any tenant) is a ConflictError.
 */
export async function connectChannel(
  orm: Database,
  key: Buffer,
  tenantId: string,
  input: z.input<typeof ConnectChannelInput>,
): Promise<ConnectionView> {
  const data = parse(ConnectChannelInput, input);
  const { credentials, settings } =
    data.channelType === 'slack'
      ? {
          credentials: {
            botToken: data.botToken,
            ...(data.signingSecret ? { signingSecret: data.signingSecret } : {}),
          },
          settings: { botUserId: data.botUserId, ...(data.botId ? { botId: data.botId } : {}) },
        }
      : {
          credentials: {
            accessToken: data.accessToken,
            ...(data.appSecret ? { appSecret: data.appSecret } : {}),
          },
          settings: data.displayPhoneNumber ? { displayPhoneNumber: data.displayPhoneNumber } : {},
        };
  try {
    return await withTenant(orm, tenantId, async (em) => {
      if (data.agentId && !(await em.findOne(Agent, { id: data.agentId }))) {
        throw new NotFoundError(`no agent ${data.agentId} in this tenant`);
      }
      const connection = em.create(ChannelConnection, {
        tenant: tenantId,
        channelType: data.channelType,
        workspaceId: data.workspaceId,
        agent: data.agentId ?? null,
        settings,
        credentials: sealCredentials(key, credentials),
      } as never);
      await em.flush();
      return connectionView(connection);
    });
  } catch (error) {
    throw translateDbError(error, `${data.channelType} workspace ${data.workspaceId}`);
  }
}

/** A tenant's channel connections, without secrets. */
export async function listConnections(orm: Database, tenantId: string): Promise<ConnectionView[]> {
  return withTenant(orm, tenantId, async (em) => {
    const rows = await em.find(ChannelConnection, {}, { orderBy: { createdAt: 'asc' } });
    return rows.map(connectionView);
  });
}

/** What the gateway learns from a workspace id. */
export interface ResolvedConnection {
  tenantId: string;
  connectionId: string;
  enabled: boolean;
  settings: Record<string, string>;
  /** Opened credentials (tokens, per-connection secrets). */
  credentials: Record<string, string>;
}

/**
 * Resolves a platform workspace (Slack team id, WhatsApp phone number id) to its tenant and connection,
 * through the one SECURITY DEFINER function that may look across tenants. `undefined` when unknown.
 */
export async function resolveConnection(
  orm: Database,
  key: Buffer,
  channelType: string,
  workspaceId: string,
): Promise<ResolvedConnection | undefined> {
  const rows = await systemScope(orm).execute<
    {
      tenant_id: string;
      connection_id: string;
      enabled: boolean;
      credentials: string;
      settings: Record<string, string>;
    }[]
  >('select * from resolve_channel_connection(?, ?)', [channelType, workspaceId]);
  const row = rows[0];
  if (!row) return undefined;
  return {
    tenantId: row.tenant_id,
    connectionId: row.connection_id,
    enabled: row.enabled,
    settings: row.settings,
    credentials: openCredentials(key, row.credentials),
  };
}

/** Input of {@link createPortalUser}. */
export const CreatePortalUserInput = z
  .object({
    email: z.email('not an email address').transform((e) => e.toLowerCase()),
    password: z.string().min(12, 'a password has at least 12 characters').max(256),
    role: z.enum(PORTAL_ROLES),
    /** Tenant ids the user may act for; none for a platform admin. */
    tenantIds: z.array(z.uuid()).default([]),
  })
  .refine((u) => u.role === 'platform_admin' || u.tenantIds.length > 0, {
    message: 'a customer user needs at least one tenant',
    path: ['tenantIds'],
  });

/** A portal user without its hash. */
export interface PortalUserView {
  id: string;
  email: string;
  role: string;
  tenantIds: string[];
}

/** Creates a portal user with an argon2id hash and its tenant memberships; a taken email is a ConflictError. */
export async function createPortalUser(
  orm: Database,
  input: z.input<typeof CreatePortalUserInput>,
): Promise<PortalUserView> {
  const data = parse(CreatePortalUserInput, input);
  const passwordHash = await hashPassword(data.password);
  const em = systemScope(orm);
  try {
    return await em.transactional(async (tx) => {
      const user = tx.create(PortalUser, { email: data.email, passwordHash, role: data.role } as never);
      await tx.flush();
      for (const tenantId of data.tenantIds) {
        // each membership row belongs to its tenant: written inside that tenant, so RLS accepts it
        await tx.execute(`select set_config('app.current_tenant', ?, true)`, [tenantId]);
        await tx.insert(PortalMembership, {
          id: randomUUID(),
          tenant: tenantId,
          user: user.id,
          createdAt: new Date(),
        } as never);
      }
      await tx.execute(`select set_config('app.current_tenant', '', true)`);
      return { id: user.id, email: user.email, role: user.role, tenantIds: data.tenantIds };
    });
  } catch (error) {
    throw translateDbError(error, `portal user ${data.email}`);
  }
}
