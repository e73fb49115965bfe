import { type Config, ConfigError, durationMs } from '@konstruct/config';
import { z } from 'zod';

const name = z.string().regex(/^[a-z0-9_-]{1,50}$/, 'must be 1-50 of a-z, 0-9, "_" or "-"');
/** A timeout as a number of milliseconds or a duration string like `30s`. */
const timeout = z.union([z.number().int().positive(), durationMs]);
const baseUrl = z.url().transform((url) => url.replace(/\/+$/, ''));

/** One provider in `LLM_GROUPS`: where it is and how long to wait for it. */
const ProviderEntry = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('ollama'),
    baseUrl,
    /** Overrides `LLM_PROVIDER_TIMEOUT` for this provider. */
    timeout: timeout.optional(),
  }),
  z.strictObject({
    kind: z.literal('openai'),
    /** The server root; `/v1/chat/completions` is appended (a trailing `/v1` is accepted too). */
    baseUrl,
    /** Sent as `Authorization: Bearer <apiKey>`; local servers (vLLM, llama.cpp) usually need none. */
    apiKey: z.string().min(1).optional(),
    timeout: timeout.optional(),
  }),
]);

/** The JSON in `LLM_GROUPS`. */
const GroupsDocument = z.strictObject({
  providers: z.record(name, ProviderEntry),
  groups: z.record(
    name,
    z
      .array(z.strictObject({ provider: name, model: z.string().min(1) }))
      .min(1, 'a group needs at least one choice'),
  ),
});

/** One provider, resolved: its configured name, kind, root URL, key and timeout in milliseconds. */
export type ProviderSettings =
  | { name: string; kind: 'ollama'; baseUrl: string; timeoutMs: number }
  | { name: string; kind: 'openai'; baseUrl: string; apiKey: string | undefined; timeoutMs: number };

/** One choice of a model group: a provider by name and the model to ask it for. */
export interface Choice {
  provider: string;
  model: string;
}

/** Everything the pool needs, resolved from the `llm` config section. */
export interface PoolSettings {
  providers: ReadonlyMap<string, ProviderSettings>;
  /** Group name -> ordered choices; the first is asked first. */
  groups: ReadonlyMap<string, readonly Choice[]>;
  /** Consecutive failures after which a provider is skipped for `cooldownMs`. */
  failuresBeforeCooldown: number;
  cooldownMs: number;
  /** Calls to providers in flight at once; the rest wait. */
  maxConcurrency: number;
  /** Calls allowed to wait for a slot; beyond that the pool answers 503 at once. */
  maxQueue: number;
}

/** The settings of the `llm` config section the pool reads. */
export type LlmConfig = Pick<
  Config<'llm'>,
  | 'OLLAMA_BASE_URL'
  | 'OLLAMA_MODEL'
  | 'LLM_GROUPS'
  | 'LLM_PROVIDER_TIMEOUT'
  | 'LLM_COOLDOWN'
  | 'LLM_MAX_CONCURRENCY'
  | 'LLM_FAILURES_BEFORE_COOLDOWN'
  | 'LLM_MAX_QUEUE'
>;

/**
 * Resolves the pool's providers and model groups from config. An empty `LLM_GROUPS` means one group `fast`
 * with one choice: the provider `ollama` at `OLLAMA_BASE_URL` serving `OLLAMA_MODEL`. Otherwise
 * `LLM_GROUPS` must be JSON `{"providers": {...}, "groups": {...}}`; a syntax error, a bad field or a group
 * naming an unknown provider raises one {@link ConfigError} listing every problem by its JSON path.
 */
export function loadPoolSettings(config: LlmConfig): PoolSettings {
  const common = {
    failuresBeforeCooldown: config.LLM_FAILURES_BEFORE_COOLDOWN,
    cooldownMs: config.LLM_COOLDOWN,
    maxConcurrency: config.LLM_MAX_CONCURRENCY,
    maxQueue: config.LLM_MAX_QUEUE,
  };
  if (config.LLM_GROUPS.trim() === '') {
    const ollama: ProviderSettings = {
      name: 'ollama',
      kind: 'ollama',
      baseUrl: config.OLLAMA_BASE_URL.replace(/\/+$/, ''),
      timeoutMs: config.LLM_PROVIDER_TIMEOUT,
    };
    return {
      ...common,
      providers: new Map([['ollama', ollama]]),
      groups: new Map([['fast', [{ provider: 'ollama', model: config.OLLAMA_MODEL }]]]),
    };
  }

  let json: unknown;
  try {
    json = JSON.parse(config.LLM_GROUPS);
  } catch (error) {
    throw new ConfigError([
      { variable: 'LLM_GROUPS', problem: `is not valid JSON (${(error as Error).message})` },
    ]);
  }
  const parsed = GroupsDocument.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: 'LLM_GROUPS',
        problem: `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`,
      })),
    );
  }

  const providers = new Map<string, ProviderSettings>();
  for (const [providerName, entry] of Object.entries(parsed.data.providers)) {
    const timeoutMs = entry.timeout ?? config.LLM_PROVIDER_TIMEOUT;
    providers.set(
      providerName,
      entry.kind === 'ollama'
        ? { name: providerName, kind: 'ollama', baseUrl: entry.baseUrl, timeoutMs }
        : { name: providerName, kind: 'openai', baseUrl: entry.baseUrl, apiKey: entry.apiKey, timeoutMs },
    );
  }
  const problems: { variable: string; problem: string }[] = [];
  for (const [groupName, choices] of Object.entries(parsed.data.groups)) {
    choices.forEach((choice, index) => {
      if (!providers.has(choice.provider)) {
        const known = [...providers.keys()].join(', ') || 'none';
        problems.push({
          variable: 'LLM_GROUPS',
          problem: `groups.${groupName}.${index}.provider: unknown provider "${choice.provider}" (known: ${known})`,
        });
      }
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...common, providers, groups: new Map(Object.entries(parsed.data.groups)) };
}
