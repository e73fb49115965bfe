export {
  createEvent,
  decodeEvent,
  derivedEventId,
  EventSchemaError,
  encodeEvent,
  type NewEvent,
  parseEvent,
  tenantMessage,
} from './envelope.ts';
export {
  AgentFailed,
  AgentReplied,
  CURRENT_SCHEMA_VERSION,
  type DataOf,
  DeadLettered,
  DeliveryFailed,
  DeliveryStatus,
  DeliverySucceeded,
  type EventOf,
  type EventType,
  eventSchemas,
  IngressUnrouted,
  KonstructEvent,
  knownSchemaVersions,
  MessageReceived,
  MessageRejected,
  MessageRouted,
  RejectionReason,
  TokenUsage,
} from './events.ts';
export { jsonSchemas } from './json-schema.ts';
export { ChatMessage, CompletionRequest, CompletionResponse } from './llm.ts';
export { ChannelType, KonstructMessage, MediaAttachment, MessageContent, SenderInfo } from './message.ts';
