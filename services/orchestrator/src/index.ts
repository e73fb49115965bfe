export {
  createPlatformLinks,
  type PlatformLink,
  type PlatformLinks,
  type PlatformLinksOptions,
} from './delivery/connections.ts';
export { createDeliveryHandler, type DeliveryHandlerDeps } from './delivery/consumer.ts';
export {
  engagesThread,
  PLACEHOLDER_TEXT,
  slackContent,
  slackThreadTs,
  whatsappBody,
} from './delivery/format.ts';
export { type DeliveryResult, deliverOnce, failureOf } from './delivery/outcome.ts';
export { createSlackThreadWriter, type SlackThreadWriter } from './delivery/placeholder.ts';
export { type GuardScope, guardKey } from './keys.ts';
export {
  createNoticeHandler,
  type NoticeHandlerDeps,
  needsNotice,
  noticesDefinition,
  RATE_LIMIT_NOTICE,
} from './notices/consumer.ts';
export {
  createOrchestrator,
  type Orchestrator,
  type OrchestratorConsumer,
  type OrchestratorDeps,
  type OrchestratorSettings,
  settingsFromConfig,
} from './orchestrator.ts';
export { createReplyHandler, type ReplyHandlerDeps } from './replies/consumer.ts';
export { createLlmPoolClient, type LlmAttempt, LlmGaveUpError, type LlmPoolClient } from './replies/llm.ts';
export {
  AI_TRANSPARENCY_CLAUSE,
  APOLOGY_TEXT,
  buildPrompt,
  type PromptAgent,
  type PromptInput,
  SessionTurn,
  userContent,
} from './replies/prompt.ts';
export { createSessionStore, type SessionStore } from './replies/session.ts';
