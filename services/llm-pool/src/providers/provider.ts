import type { ChatMessage, TokenUsage } from '@konstruct/contracts';
import { UnavailableError } from '@konstruct/core';
import type { FailureKind } from '../completion/health.ts';

/** One call to a model, as the pool hands it to a provider. */
export interface ProviderCall {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
}

/** A provider's answer. */
export interface ProviderAnswer {
  content: string;
  /** The model that answered, as the provider names it. */
  model: string;
  usage: TokenUsage;
}

/** One model server the pool can ask, whatever protocol it speaks. */
export interface Provider {
  /** The configured name, e.g. `ollama-local`. */
  readonly name: string;
  readonly kind: 'ollama' | 'openai';
  readonly baseUrl: string;
  /** How long one call may take before the pool gives up on it. */
  readonly timeoutMs: number;
  /** Asks the model; rejects with a {@link ProviderError}, or with whatever `signal`'s abort caused. */
  complete(call: ProviderCall, signal: AbortSignal): Promise<ProviderAnswer>;
}

/** A provider call that failed, with a stable {@link FailureKind} and the HTTP status when there was one. */
export class ProviderError extends UnavailableError {
  readonly kind: FailureKind;
  readonly status: number | undefined;

  constructor(kind: FailureKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
  }
}

/**
 * Turns what `fetch` threw into a {@link ProviderError}: a refused or reset connection, a DNS failure or a
 * socket closed mid-answer is `unreachable` (Node's fetch says `fetch failed` and keeps the reason in
 * `cause.code`); anything else is passed through for the caller to judge.
 */
export function networkFailure(error: unknown, baseUrl: string): ProviderError | undefined {
  if (error instanceof ProviderError) return error;
  if (error instanceof TypeError) {
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const reason = typeof cause?.code === 'string' ? cause.code : String(cause?.message ?? error.message);
    return new ProviderError('unreachable', `unreachable at ${baseUrl} (${reason})`, { cause: error });
  }
  return undefined;
}

/** The first 200 characters of a provider's error text: enough to act on, never a whole HTML page. */
export function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}
