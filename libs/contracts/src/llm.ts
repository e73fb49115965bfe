import { z } from 'zod';
import { TokenUsage } from './events.ts';

/** One chat message sent to a model. */
export const ChatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
/** One chat message sent to a model. */
export type ChatMessage = z.infer<typeof ChatMessage>;

/** `POST /v1/complete` on the llm-pool: the body. */
export const CompletionRequest = z.object({
  /** The tenant the call is for: logged and counted, never mixed into another tenant's call. */
  tenantId: z.uuid(),
  /** The agent the call is for, for usage accounting. */
  agentId: z.uuid().optional(),
  /** The model group, e.g. `fast` or `quality`; the pool picks provider and model. */
  modelGroup: z.string().regex(/^[a-z0-9_-]{1,50}$/),
  messages: z.array(ChatMessage).min(1),
  /** Correlation id of the message journey, for logs. */
  correlationId: z.string().optional(),
  /** Sampling temperature. */
  temperature: z.number().min(0).max(2).optional(),
  /** Upper bound on the answer's length. */
  maxTokens: z.number().int().positive().max(32_768).optional(),
});
/** `POST /v1/complete` request. */
export type CompletionRequest = z.infer<typeof CompletionRequest>;

/** `POST /v1/complete` on the llm-pool: a 200 answer. */
export const CompletionResponse = z.object({
  content: z.string(),
  /** The model that answered, e.g. `llama3.2:3b`. */
  model: z.string(),
  /** The provider that answered, by its configured name, e.g. `ollama-local`. */
  provider: z.string(),
  usage: TokenUsage,
  /** Time the provider took, in milliseconds. */
  latencyMs: z.number().nonnegative(),
  /** Providers tried before the one that answered, with why they were skipped or failed. */
  attempts: z.array(z.object({ provider: z.string(), model: z.string(), error: z.string() })).default([]),
});
/** `POST /v1/complete` response. */
export type CompletionResponse = z.infer<typeof CompletionResponse>;
