import { Agent, ChannelConnection, PortalMembership, PortalUser, Tenant } from './tenancy.ts';

export * from './tenancy.ts';

/** Every entity, for the ORM's discovery. */
export const entities = [Tenant, Agent, ChannelConnection, PortalUser, PortalMembership];
