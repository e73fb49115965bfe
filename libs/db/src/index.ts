export {
  type AgentView,
  ConnectChannelInput,
  type ConnectionView,
  CreateAgentInput,
  CreatePortalUserInput,
  CreateTenantInput,
  connectChannel,
  createAgent,
  createPortalUser,
  createTenant,
  getAgent,
  getTenant,
  listAgents,
  listConnections,
  listTenants,
  type PortalUserView,
  type ResolvedConnection,
  resolveConnection,
  Slug,
  type TenantView,
} from './admin.ts';
export { credentialsKey, openCredentials, sealCredentials } from './credentials.ts';
export * from './entities/index.ts';
export { translateDbError } from './errors.ts';
export { type Database, migrate, type OpenDatabaseOptions, openDatabase, ormOptions } from './orm.ts';
export { hashPassword, verifyPassword } from './passwords.ts';
export { type BoundResult, executeBound } from './statements.ts';
export * from './statuses.ts';
export { systemScope, tenantScope, withTenant } from './tenancy.ts';
