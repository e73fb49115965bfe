import { Conversation, Delivery, DeliveryReceipt, LlmUsage, ProjectedMessage } from './projections.ts';
import { Agent, ChannelConnection, PortalMembership, PortalUser, Tenant } from './tenancy.ts';

export * from './projections.ts';
export * from './tenancy.ts';

/** Every entity, for the ORM's discovery. */
export const entities = [
  Tenant,
  Agent,
  ChannelConnection,
  PortalUser,
  PortalMembership,
  Conversation,
  ProjectedMessage,
  Delivery,
  DeliveryReceipt,
  LlmUsage,
];
