export { type ConversationAddress, conversationId } from './conversation.ts';
export {
  engagedThreadKey,
  idempotencyKey,
  rateLimitKey,
  rateNoticeKey,
  sessionKey,
} from './redis-keys.ts';
export { type ConsumerName, consumers, type StreamNames, type Topology, topology } from './streams.ts';
export {
  allOpsSubject,
  allTenantsSubject,
  assertTenantId,
  deadLetterSubject,
  isTenantId,
  opsSubject,
  parseTenantSubject,
  type SubjectSpace,
  tenantSubject,
  tenantWildcard,
  typeFilter,
} from './subjects.ts';
