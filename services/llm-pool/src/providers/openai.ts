import { z } from 'zod';
import { clip, networkFailure, type Provider, ProviderError } from './provider.ts';

/** The fields of a chat completions answer the pool uses. */
const ChatCompletion = z.object({
  model: z.string().optional(),
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1),
  usage: z
    .object({
      prompt_tokens: z.number().int().nonnegative(),
      completion_tokens: z.number().int().nonnegative(),
    })
    .optional(),
});

/** Options of {@link createOpenAiProvider}. */
export interface OpenAiProviderOptions {
  name: string;
  /** Server root; a trailing `/v1` is allowed, as OpenAI's own docs write it. */
  baseUrl: string;
  apiKey?: string | undefined;
  timeoutMs: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * A provider for any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp server, LM Studio, …):
 * `POST {baseUrl}/v1/chat/completions`, non-streaming, with `Authorization: Bearer <apiKey>` when a key is set.
 * Token usage is the server's `usage.prompt_tokens` / `usage.completion_tokens`.
 */
export function createOpenAiProvider({
  name,
  baseUrl,
  apiKey,
  timeoutMs,
  fetch: fetchImpl = globalThis.fetch,
}: OpenAiProviderOptions): Provider {
  const endpoint = `${baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1/chat/completions`;
  return {
    name,
    kind: 'openai',
    baseUrl,
    timeoutMs,
    async complete(call, signal) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json',
      };
      if (apiKey) headers.authorization = `Bearer ${apiKey}`;
      const body: Record<string, unknown> = { model: call.model, messages: call.messages, stream: false };
      if (call.temperature !== undefined) body.temperature = call.temperature;
      if (call.maxTokens !== undefined) body.max_tokens = call.maxTokens;
      let response: Response;
      let text: string;
      try {
        response = await fetchImpl(endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal });
        text = await response.text();
      } catch (error) {
        throw networkFailure(error, baseUrl) ?? error;
      }
      if (!response.ok) {
        throw new ProviderError('http', `HTTP ${response.status}: ${clip(errorMessage(text))}`, {
          status: response.status,
        });
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ProviderError('bad_response', `answer is not JSON: ${clip(text)}`);
      }
      const answer = ChatCompletion.safeParse(json);
      if (!answer.success) {
        throw new ProviderError('bad_response', `unexpected chat completion: ${clip(answer.error.message)}`);
      }
      return {
        content: answer.data.choices[0]!.message.content ?? '',
        model: answer.data.model ?? call.model,
        usage: {
          promptTokens: answer.data.usage?.prompt_tokens ?? 0,
          completionTokens: answer.data.usage?.completion_tokens ?? 0,
        },
      };
    },
  };
}

/** OpenAI puts the reason in `error.message`; other servers send plain text. */
function errorMessage(text: string): string {
  try {
    const json = JSON.parse(text) as { error?: { message?: unknown } | string };
    if (typeof json.error === 'string') return json.error;
    if (typeof json.error?.message === 'string') return json.error.message;
  } catch {
    // not JSON: the text itself is the message
  }
  return text;
}
