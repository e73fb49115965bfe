import { type CompletionRequest, CompletionResponse } from '@konstruct/contracts';
import { AppError, UnavailableError } from '@konstruct/core';
import type { FetchLike } from '@konstruct/platforms';
import { z } from 'zod';

/** One provider+model the pool tried, and why it did not answer. */
export interface LlmAttempt {
  provider: string;
  model: string;
  error: string;
}

/**
 * The llm-pool gave up on this request for good: every choice of the model group failed (its 503 with the
 * attempts), or it refused the request itself (unknown model group, invalid request). Asking again now
 * would fail the same way, so the person gets an apology.
 */
export class LlmGaveUpError extends AppError {
  readonly attempts: readonly LlmAttempt[];
  /** The pool's HTTP status. */
  readonly status: number;

  constructor(message: string, status: number, attempts: LlmAttempt[]) {
    super('llm_gave_up', message, { details: { status, attempts } });
    this.status = status;
    this.attempts = attempts;
  }
}

/** Options for {@link createLlmPoolClient}. */
export interface LlmPoolClientOptions {
  /** e.g. `http://127.0.0.1:3100`. */
  baseUrl: string;
  /** How long one completion may take (the pool's own fallbacks included). */
  timeoutMs: number;
  /** @default globalThis.fetch */
  fetch?: FetchLike;
}

/** Talks to the llm-pool's `POST /v1/complete`. */
export interface LlmPoolClient {
  /**
   * Resolves with the pool's answer. Rejects with {@link LlmGaveUpError} when the pool gave up for good, and
   * with {@link UnavailableError} when it could not be asked (unreachable, timed out, queue full, 5xx).
   */
  complete(request: CompletionRequest, signal?: AbortSignal): Promise<CompletionResponse>;
}

// The pool answers failures as RFC 9457 problems; `attempts` is there when every choice was tried.
const Problem = z.looseObject({
  title: z.string().optional(),
  detail: z.string().optional(),
  error: z.string().optional(),
  attempts: z.array(z.object({ provider: z.string(), model: z.string(), error: z.string() })).optional(),
});

/** Creates the llm-pool client. */
export function createLlmPoolClient({
  baseUrl,
  timeoutMs,
  fetch = globalThis.fetch,
}: LlmPoolClientOptions): LlmPoolClient {
  const url = `${baseUrl.replace(/\/+$/, '')}/v1/complete`;
  return {
    async complete(request, signal) {
      const timeout = AbortSignal.timeout(timeoutMs);
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(request),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        text = await response.text();
      } catch (error) {
        const why = timeout.aborted
          ? `no answer within ${timeoutMs} ms`
          : signal?.aborted
            ? 'stopping'
            : ((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
        throw new UnavailableError(`llm-pool unreachable: ${why}`, { cause: error });
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (response.ok) {
        const parsed = CompletionResponse.safeParse(body);
        if (!parsed.success) {
          throw new LlmGaveUpError(
            `llm-pool answered 200 without a completion: ${text.slice(0, 200)}`,
            200,
            [],
          );
        }
        return parsed.data;
      }
      const problem = Problem.safeParse(body);
      const attempts = problem.success ? (problem.data.attempts ?? []) : [];
      const detail = problem.success
        ? (problem.data.detail ?? problem.data.error ?? problem.data.title ?? '')
        : text.slice(0, 200);
      const message = `llm-pool HTTP ${response.status}${detail ? `: ${detail}` : ''}`;
      // 503 with attempts: every choice of the group failed after the pool's own fallbacks — final.
      // 503 without: the pool is saturated (its queue is full) — ask again later.
      if (response.status === 503 && attempts.length > 0) {
        throw new LlmGaveUpError(message, response.status, attempts);
      }
      if (response.status === 429 || response.status >= 500) {
        const retryAfter = Number(response.headers.get('retry-after'));
        throw new UnavailableError(message, {
          ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
        });
      }
      // 400/404/422: the request or the agent's model group is wrong; asking again will not help
      throw new LlmGaveUpError(message, response.status, attempts);
    },
  };
}
