import type { CompletionRequest, CompletionResponse } from '@konstruct/contracts';
import { type Clock, type Logger, NotFoundError, UnavailableError } from '@konstruct/core';
import { type Provider, ProviderError } from '../providers/provider.ts';
import type { PoolSettings } from '../settings.ts';
import {
  afterFailure,
  afterSuccess,
  HEALTHY,
  type HealthReport,
  isAvailable,
  type ProviderHealth,
  reportHealth,
} from './health.ts';
import { createLimiter } from './limiter.ts';

/** One choice that did not answer, and why: what `attempts` holds in answers and in the 503 problem. */
export interface Attempt {
  provider: string;
  model: string;
  error: string;
}

/** Every choice of a group failed or was cooling down; `attempts` says which and why. */
export class AllChoicesFailedError extends UnavailableError {
  readonly attempts: readonly Attempt[];

  constructor(message: string, modelGroup: string, attempts: Attempt[], retryAfterMs: number | undefined) {
    super(message, {
      details: { modelGroup, attempts },
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
    this.attempts = attempts;
  }
}

/** What `/healthz` reports about the pool. */
export interface PoolHealth {
  providers: ({ name: string; kind: string; baseUrl: string } & HealthReport)[];
  groups: Record<string, string[]>;
  inFlight: number;
  queued: number;
}

/** The model pool: ordered fallback through a group's choices, with cool-downs and a concurrency limit. */
export interface Pool {
  /**
   * Answers `request` from the first available choice of its model group. Rejects with a
   * {@link NotFoundError} for an unknown group, an {@link UnavailableError} when the queue is full or the
   * caller went away (`signal`), and an {@link AllChoicesFailedError} when no choice answered.
   */
  complete(request: CompletionRequest, signal: AbortSignal, logger: Logger): Promise<CompletionResponse>;
  /** Per-provider state for operators. */
  health(): PoolHealth;
}

/** Dependencies of {@link createPool}. */
export interface PoolDeps {
  settings: PoolSettings;
  /** Providers by configured name; every group choice names one of them. */
  providers: ReadonlyMap<string, Provider>;
  /** Drives cool-downs and latency; injected so cool-down windows are testable. */
  clock: Clock;
}

/**
 * Creates the pool. One limiter slot covers a whole request, fallbacks included, so `maxConcurrency` bounds
 * the model calls in flight at once; cool-down state is per provider, shared by every group using it.
 */
export function createPool({ settings, providers, clock }: PoolDeps): Pool {
  const limiter = createLimiter({ max: settings.maxConcurrency, maxQueue: settings.maxQueue });
  const healths = new Map<string, ProviderHealth>();
  const healthOf = (name: string) => healths.get(name) ?? HEALTHY;
  const policy = { failuresBeforeCooldown: settings.failuresBeforeCooldown, cooldownMs: settings.cooldownMs };

  async function callWithTimeout(
    provider: Provider,
    request: CompletionRequest,
    model: string,
    signal: AbortSignal,
  ) {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, provider.timeoutMs);
    const onCallerGone = () => controller.abort();
    signal.addEventListener('abort', onCallerGone, { once: true });
    try {
      return await provider.complete(
        {
          model,
          messages: request.messages,
          ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
          ...(request.maxTokens === undefined ? {} : { maxTokens: request.maxTokens }),
        },
        controller.signal,
      );
    } catch (error) {
      if (timedOut) {
        throw new ProviderError('timeout', `timed out after ${provider.timeoutMs} ms`, { cause: error });
      }
      throw error;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onCallerGone);
    }
  }

  return {
    async complete(request, signal, logger) {
      const choices = settings.groups.get(request.modelGroup);
      if (!choices) {
        throw new NotFoundError(
          `unknown model group "${request.modelGroup}" (configured: ${[...settings.groups.keys()].join(', ')})`,
        );
      }
      const release = await limiter.acquire(signal);
      const attempts: Attempt[] = [];
      try {
        for (const choice of choices) {
          const provider = providers.get(choice.provider)!;
          const before = healthOf(provider.name);
          if (!isAvailable(before, clock.now())) {
            const until = new Date(before.coolingUntil!).toISOString();
            attempts.push({
              provider: provider.name,
              model: choice.model,
              error: `skipped: cooling down until ${until} after ${before.consecutiveFailures} failures in a row (last: ${before.lastFailure?.message ?? 'unknown'})`,
            });
            continue;
          }
          const started = clock.now();
          try {
            const answer = await callWithTimeout(provider, request, choice.model, signal);
            healths.set(provider.name, afterSuccess(healthOf(provider.name)));
            const latencyMs = Math.max(0, clock.now() - started);
            logger.info(
              {
                provider: provider.name,
                model: answer.model,
                latencyMs,
                promptTokens: answer.usage.promptTokens,
                completionTokens: answer.usage.completionTokens,
                failedAttempts: attempts.length,
              },
              'completion answered',
            );
            return { ...answer, provider: provider.name, latencyMs, attempts };
          } catch (error) {
            // the caller went away: not the provider's fault, and nobody is left to answer
            if (signal.aborted) throw new UnavailableError('the caller went away', { cause: error });
            const failure =
              error instanceof ProviderError
                ? error
                : new ProviderError('bad_response', String(error), { cause: error });
            healths.set(provider.name, afterFailure(healthOf(provider.name), failure, clock.now(), policy));
            attempts.push({ provider: provider.name, model: choice.model, error: failure.message });
            logger.warn(
              {
                provider: provider.name,
                model: choice.model,
                kind: failure.kind,
                status: failure.status,
                reason: failure.message,
                consecutiveFailures: healthOf(provider.name).consecutiveFailures,
              },
              'provider failed; trying the next choice',
            );
          }
        }
      } finally {
        release();
      }
      const failed = allFailed(request.modelGroup, attempts, choices, providers, healthOf, clock.now());
      logger.warn({ attempts }, 'every choice of the model group failed');
      throw failed;
    },

    health() {
      const now = clock.now();
      return {
        providers: [...providers.values()].map((p) => ({
          name: p.name,
          kind: p.kind,
          baseUrl: p.baseUrl,
          ...reportHealth(healthOf(p.name), now),
        })),
        groups: Object.fromEntries(
          [...settings.groups].map(([name, choices]) => [
            name,
            choices.map((c) => `${c.provider}/${c.model}`),
          ]),
        ),
        inFlight: limiter.inFlight,
        queued: limiter.queued,
      };
    },
  };
}

/**
 * Builds the error for a group none of whose choices answered. When no server answered at all (every
 * provider unreachable, now or when it was put to cool down) the message says what to start or configure,
 * e.g. `no model server answered: start Ollama at http://127.0.0.1:11434 (ollama serve; ollama pull
 * llama3.2:3b) or set LLM_GROUPS`, because that is the quick start's usual first failure.
 */
function allFailed(
  modelGroup: string,
  attempts: Attempt[],
  choices: readonly { provider: string; model: string }[],
  providers: ReadonlyMap<string, Provider>,
  healthOf: (name: string) => ProviderHealth,
  now: number,
): AllChoicesFailedError {
  const nobodyAnswered = choices.every((c) => healthOf(c.provider).lastFailure?.kind === 'unreachable');
  const coolingEnds = choices.map((c) => healthOf(c.provider).coolingUntil ?? 0).filter((t) => t > now);
  // when every choice is cooling down, the earliest end of a window is when retrying makes sense
  const retryAfterMs = coolingEnds.length === choices.length ? Math.min(...coolingEnds) - now : undefined;
  if (nobodyAnswered) {
    const todo = choices.map((c) => {
      const p = providers.get(c.provider)!;
      return p.kind === 'ollama'
        ? `start Ollama at ${p.baseUrl} (ollama serve; ollama pull ${c.model})`
        : `check the OpenAI-compatible server at ${p.baseUrl} (model ${c.model})`;
    });
    const message = `no model server answered: ${[...new Set(todo)].join('; ')} or set LLM_GROUPS`;
    return new AllChoicesFailedError(message, modelGroup, attempts, retryAfterMs);
  }
  const reasons = attempts.map((a) => `${a.provider}/${a.model}: ${a.error}`).join('; ');
  return new AllChoicesFailedError(
    `every choice of model group "${modelGroup}" failed: ${reasons}`,
    modelGroup,
    attempts,
    retryAfterMs,
  );
}
