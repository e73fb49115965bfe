import { Ollama } from 'ollama';
import { z } from 'zod';
import { clip, networkFailure, type Provider, ProviderError } from './provider.ts';

/** The fields of Ollama's non-streaming `/api/chat` answer the pool uses. */
const OllamaChatAnswer = z.object({
  model: z.string(),
  message: z.object({ content: z.string() }),
  // Ollama leaves the prompt count out when the whole prompt came from its cache
  prompt_eval_count: z.number().int().nonnegative().optional(),
  eval_count: z.number().int().nonnegative().optional(),
});

/** Options of {@link createOllamaProvider}. */
export interface OllamaProviderOptions {
  name: string;
  baseUrl: string;
  timeoutMs: number;
  /** The fetch the `ollama` client uses. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * A provider speaking Ollama's `/api/chat` through the `ollama` client, non-streaming. Token usage is
 * Ollama's own count: `prompt_eval_count` in, `eval_count` out.
 */
export function createOllamaProvider({
  name,
  baseUrl,
  timeoutMs,
  fetch: fetchImpl = globalThis.fetch,
}: OllamaProviderOptions): Provider {
  return {
    name,
    kind: 'ollama',
    baseUrl,
    timeoutMs,
    async complete(call, signal) {
      // the client's non-streaming chat() takes no AbortSignal, so each call gets a client whose fetch
      // carries this call's signal; the client is a thin object, cheap to make
      const client = new Ollama({
        host: baseUrl,
        fetch: (input, init) => jsonErrors(fetchImpl, input, { ...init, signal }),
      });
      const options: Record<string, number> = {};
      if (call.temperature !== undefined) options.temperature = call.temperature;
      if (call.maxTokens !== undefined) options.num_predict = call.maxTokens;
      let raw: unknown;
      try {
        raw = await client.chat({ model: call.model, messages: call.messages, stream: false, options });
      } catch (error) {
        const status = (error as { status_code?: unknown }).status_code;
        if (typeof status === 'number') {
          const hint = status === 404 ? ` (pull it: ollama pull ${call.model})` : '';
          throw new ProviderError('http', `HTTP ${status}: ${clip((error as Error).message)}${hint}`, {
            status,
            cause: error,
          });
        }
        throw networkFailure(error, baseUrl) ?? error;
      }
      const answer = OllamaChatAnswer.safeParse(raw);
      if (!answer.success) {
        throw new ProviderError('bad_response', `unexpected /api/chat answer: ${clip(answer.error.message)}`);
      }
      return {
        content: answer.data.message.content,
        model: answer.data.model,
        usage: {
          promptTokens: answer.data.prompt_eval_count ?? 0,
          completionTokens: answer.data.eval_count ?? 0,
        },
      };
    },
  };
}

/**
 * Fetches, and turns a non-JSON error answer (a proxy's HTML page, a plain-text 502) into Ollama's JSON
 * error shape: the client `console.log`s while reading a non-JSON error body, which would put stray lines
 * among our JSON logs on stdout.
 */
async function jsonErrors(fetchImpl: typeof fetch, input: string | URL | Request, init: RequestInit) {
  const response = await fetchImpl(input, init);
  if (response.ok || response.headers.get('content-type')?.includes('application/json')) return response;
  const text = await response.text();
  return new Response(JSON.stringify({ error: text || `${response.status} ${response.statusText}` }), {
    status: response.status,
    statusText: response.statusText,
    headers: { 'content-type': 'application/json' },
  });
}
