import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type FakeChatMessage, fakeTokenCount } from './fake-ollama.ts';
import { listenOnLoopback, readJson, sendJson } from './loopback.ts';

/** The body of one `/v1/chat/completions` call, with the `Authorization` header it came with. */
export interface FakeOpenAiRequest {
  model: string;
  messages: FakeChatMessage[];
  temperature?: number;
  max_tokens?: number;
  /** The `Authorization` header as received, e.g. `Bearer sk-test`; undefined when absent. */
  authorization: string | undefined;
  [key: string]: unknown;
}

/** How the fake behaves; every field can be changed later with `configure`. */
export interface FakeOpenAiOptions {
  /** The answer's content for a call. @default `fake openai reply to: <last user message>` */
  reply?: (request: FakeOpenAiRequest) => string | Promise<string>;
  /** Wait this long before answering. @default 0 */
  delayMs?: number;
  /** Answer with an error: `true` is 500, a number is that HTTP status. @default false */
  fail?: boolean | number;
  /** Never answer (until `close`), so callers hit their timeout. @default false */
  hang?: boolean;
  /** When set, a call without `Authorization: Bearer <apiKey>` gets 401, as OpenAI answers. @default undefined */
  apiKey?: string;
}

/** A running fake OpenAI-compatible endpoint; see {@link startFakeOpenAi}. */
export interface FakeOpenAi {
  /** Base URL without `/v1`, e.g. `http://127.0.0.1:41235`. */
  url: string;
  /** Every `/v1/chat/completions` body received, in order, including failed and hanging calls. */
  requests: FakeOpenAiRequest[];
  /** Changes the behaviour for the calls that come next. */
  configure(options: Partial<FakeOpenAiOptions>): void;
  /** Stops the server, cutting any hanging calls. */
  close(): Promise<void>;
}

/**
 * Starts a real HTTP server on 127.0.0.1 (random port) speaking the OpenAI chat completions API
 * (`POST /v1/chat/completions`, non-streaming; `GET /v1/models`). Usage is counted with `fakeTokenCount`:
 * `prompt_tokens` over every message's content, `completion_tokens` over the reply.
 */
export async function startFakeOpenAi(options: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  let behaviour: FakeOpenAiOptions = { ...options };
  const requests: FakeOpenAiRequest[] = [];

  async function complete(request: FakeOpenAiRequest, res: ServerResponse): Promise<void> {
    requests.push(request);
    if (behaviour.hang) return;
    if (behaviour.delayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
    if (behaviour.apiKey !== undefined && request.authorization !== `Bearer ${behaviour.apiKey}`) {
      return sendError(res, 401, 'Incorrect API key provided', 'invalid_request_error');
    }
    if (behaviour.fail) {
      const status = typeof behaviour.fail === 'number' ? behaviour.fail : 500;
      return sendError(res, status, `fake openai told to fail with ${status}`, 'server_error');
    }
    const content = await (behaviour.reply ?? defaultReply)(request);
    const promptTokens = fakeTokenCount(request.messages.map((m) => m.content).join(' '));
    const completionTokens = fakeTokenCount(content);
    sendJson(res, 200, {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model' }] });
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      const body = await readJson(req);
      if (
        typeof body !== 'object' ||
        body === null ||
        !Array.isArray((body as { messages?: unknown }).messages)
      ) {
        return sendError(res, 400, 'messages is required', 'invalid_request_error');
      }
      return complete({ ...(body as FakeOpenAiRequest), authorization: req.headers.authorization }, res);
    }
    sendError(res, 404, `Unknown path ${path}`, 'invalid_request_error');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, String(error), 'server_error');
    });
  });
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

function defaultReply(request: FakeOpenAiRequest): string {
  const lastUser = request.messages.findLast((m) => m.role === 'user');
  return `fake openai reply to: ${lastUser?.content ?? ''}`;
}

function sendError(res: ServerResponse, status: number, message: string, type: string): void {
  sendJson(res, status, { error: { message, type, param: null, code: null } });
}
