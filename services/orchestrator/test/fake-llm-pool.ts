import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CompletionRequest, CompletionRequest as CompletionRequestSchema } from '@konstruct/contracts';

/** What the fake answers with for one request. */
export type FakeLlmAnswer =
  | { kind: 'answer'; content: string }
  | { kind: 'all-failed' }
  | { kind: 'busy' }
  | { kind: 'hang' };

/** A tiny llm-pool on loopback speaking `POST /v1/complete`, recording every request. */
export interface FakeLlmPool {
  url: string;
  requests: CompletionRequest[];
  /** Decides the answer; the default echoes the last user message. */
  respond: (request: CompletionRequest) => FakeLlmAnswer;
  /** Called when a request arrives, before answering (to observe what the person saw meanwhile). */
  onRequest: ((request: CompletionRequest) => void) | undefined;
  close(): Promise<void>;
}

/** The default answer: `Answer to: <the last user message>`. */
export function echo(request: CompletionRequest): FakeLlmAnswer {
  return { kind: 'answer', content: `Answer to: ${request.messages.at(-1)?.content ?? ''}` };
}

/** Starts the fake llm-pool on 127.0.0.1:0. */
export async function startFakeLlmPool(): Promise<FakeLlmPool> {
  const hanging: ServerResponse[] = [];
  const fake: FakeLlmPool = {
    url: '',
    requests: [],
    respond: echo,
    onRequest: undefined,
    close: async () => {},
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, {
        'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
      });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/v1/complete') return json(404, { title: 'Not Found' });
    const parsed = CompletionRequestSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    if (!parsed.success) return json(400, { title: 'Bad Request', detail: parsed.error.message });
    fake.requests.push(parsed.data);
    fake.onRequest?.(parsed.data);
    const answer = fake.respond(parsed.data);
    switch (answer.kind) {
      case 'answer':
        return json(200, {
          content: answer.content,
          model: 'fake-model:1b',
          provider: 'fake-local',
          usage: { promptTokens: 42, completionTokens: 7 },
          latencyMs: 12,
          attempts: [],
        });
      case 'all-failed':
        return json(503, {
          title: 'Service Unavailable',
          detail: 'every choice of model group "fast" failed',
          attempts: [
            { provider: 'ollama-local', model: 'llama3.2:3b', error: 'timed out after 60000 ms' },
            { provider: 'openai-backup', model: 'gpt-x', error: 'HTTP 500' },
          ],
        });
      case 'busy':
        return json(503, { title: 'Service Unavailable', detail: 'queue full' });
      case 'hang':
        hanging.push(res);
        return;
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return fake;
}
