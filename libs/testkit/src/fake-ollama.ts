import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback, readJson, sendJson, sendText } from './loopback.ts';

/** One chat message as Ollama's `/api/chat` receives it. */
export interface FakeChatMessage {
  role: string;
  content: string;
}

/** The body of one `/api/chat` call, as the fake received it. */
export interface FakeOllamaRequest {
  model: string;
  messages: FakeChatMessage[];
  stream?: boolean;
  options?: Record<string, unknown>;
  [key: string]: unknown;
}

/** How the fake behaves; every field can be changed later with `configure`. */
export interface FakeOllamaOptions {
  /**
   * The answer's content for a call. @default echoes the last user message: `fake reply to: <text>`
   */
  reply?: (request: FakeOllamaRequest) => string | Promise<string>;
  /** Wait this long before answering, to look like a slow model. @default 0 */
  delayMs?: number;
  /** Answer with an error: `true` is 500, a number is that HTTP status. @default false */
  fail?: boolean | number;
  /** Never answer `/api/chat` (until `close`), so callers hit their timeout. @default false */
  hang?: boolean;
  /**
   * The models this server has pulled; a call for another one gets Ollama's 404 "model not found".
   * @default undefined: every model name is served
   */
  models?: string[];
}

/** A running fake Ollama; see {@link startFakeOllama}. */
export interface FakeOllama {
  /** Base URL, e.g. `http://127.0.0.1:41234`: what `OLLAMA_BASE_URL` or a provider's `baseUrl` takes. */
  url: string;
  /** Every `/api/chat` body received, in order, including calls that were failed or left hanging. */
  requests: FakeOllamaRequest[];
  /** Changes the behaviour for the calls that come next. */
  configure(options: Partial<FakeOllamaOptions>): void;
  /** Stops the server, cutting any hanging calls. */
  close(): Promise<void>;
}

/**
 * Counts "tokens" the way the fakes do: whitespace-separated words. Deterministic, so a test can assert
 * that the usage a caller reports is the provider's own count.
 */
export function fakeTokenCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/**
 * Starts a real HTTP server on 127.0.0.1 (random port) that speaks Ollama's `/api/chat` (non-streaming)
 * and `/api/tags`, so the production `ollama` client path runs in tests. The answer's usage is counted
 * with {@link fakeTokenCount}: `prompt_eval_count` over every message's content, `eval_count` over the reply.
 */
export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  let behaviour: FakeOllamaOptions = { ...options };
  const requests: FakeOllamaRequest[] = [];

  async function chat(body: FakeOllamaRequest, res: ServerResponse): Promise<void> {
    requests.push(body);
    if (behaviour.hang) return; // the response is never written; close() cuts the socket
    if (behaviour.delayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
    if (behaviour.fail) {
      const status = typeof behaviour.fail === 'number' ? behaviour.fail : 500;
      return sendJson(res, status, { error: `fake ollama told to fail with ${status}` });
    }
    if (behaviour.models && !behaviour.models.includes(body.model)) {
      return sendJson(res, 404, { error: `model "${body.model}" not found, try pulling it first` });
    }
    const content = await (behaviour.reply ?? defaultReply)(body);
    const promptText = body.messages.map((m) => m.content).join(' ');
    sendJson(res, 200, {
      model: body.model,
      created_at: new Date().toISOString(),
      message: { role: 'assistant', content },
      done: true,
      done_reason: 'stop',
      total_duration: 1_000_000,
      load_duration: 100_000,
      prompt_eval_count: fakeTokenCount(promptText),
      prompt_eval_duration: 300_000,
      eval_count: fakeTokenCount(content),
      eval_duration: 600_000,
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(error) });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    if (req.method === 'GET' && path === '/api/tags') {
      const names = behaviour.models ?? ['llama3.2:3b'];
      return sendJson(res, 200, { models: names.map((name) => ({ name, model: name, size: 0 })) });
    }
    if (req.method === 'GET' && path === '/') return sendText(res, 200, 'Ollama is running');
    if (req.method === 'POST' && path === '/api/chat') {
      const body = await readJson(req);
      if (!isChatRequest(body)) return sendJson(res, 400, { error: 'model and messages are required' });
      return chat(body, res);
    }
    sendText(res, 404, '404 page not found');
  }

  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    configure(next) {
      behaviour = { ...behaviour, ...next };
    },
    close,
  };
}

function defaultReply(request: FakeOllamaRequest): string {
  const lastUser = request.messages.findLast((m) => m.role === 'user');
  return `fake reply to: ${lastUser?.content ?? ''}`;
}

function isChatRequest(body: unknown): body is FakeOllamaRequest {
  if (typeof body !== 'object' || body === null) return false;
  const { model, messages } = body as Record<string, unknown>;
  return typeof model === 'string' && Array.isArray(messages);
}
