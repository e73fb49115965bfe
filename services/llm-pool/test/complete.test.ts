import { createServer } from 'node:net';
import { loadConfig } from '@konstruct/config';
import { CompletionResponse } from '@konstruct/contracts';
import { manualClock } from '@konstruct/core';
import {
  captureLogs,
  type FakeOllama,
  type FakeOpenAi,
  fakeTokenCount,
  startFakeOllama,
  startFakeOpenAi,
} from '@konstruct/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Attempt, createLlmPool, type LlmPool, type PoolHealth } from '../src/index.ts';

/** What a test reads from `/v1/complete`: an answer or a problem; the fields the assertions use. */
interface Reply {
  detail: string;
  attempts: Attempt[];
  issues: { path: string; message: string }[];
  [key: string]: unknown;
}

const TENANT = '6c1f4a52-8e0b-4d5e-9a57-1b7c1f0e2a11';
const QUESTION = 'What are the opening hours of the Oslo store?';
const request = (overrides: Record<string, unknown> = {}) => ({
  tenantId: TENANT,
  correlationId: 'corr-1',
  modelGroup: 'fast',
  messages: [
    { role: 'system', content: 'You are Mara, a helpful assistant.' },
    { role: 'user', content: QUESTION },
  ],
  ...overrides,
});

let ollama: FakeOllama;
let openai: FakeOpenAi;
const pools: LlmPool[] = [];

beforeEach(async () => {
  ollama = await startFakeOllama();
  openai = await startFakeOpenAi({ apiKey: 'sk-test' });
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
  await Promise.all([ollama.close(), openai.close()]);
});

/** `fast`: the fake Ollama first, the fake OpenAI-compatible server second. */
function twoProviderGroups(ollamaTimeout = '2s') {
  return JSON.stringify({
    providers: {
      'ollama-local': { kind: 'ollama', baseUrl: ollama.url, timeout: ollamaTimeout },
      'openai-backup': { kind: 'openai', baseUrl: openai.url, apiKey: 'sk-test' },
    },
    groups: {
      fast: [
        { provider: 'ollama-local', model: 'llama3.2:3b' },
        { provider: 'openai-backup', model: 'gpt-4o-mini' },
      ],
    },
  });
}

async function startPool(env: Record<string, string>, clock = manualClock()) {
  const logs = captureLogs('llm-pool', 'info');
  const pool = createLlmPool({ config: loadConfig(env, ['llm']), logger: logs.logger, clock });
  pools.push(pool);
  const url = await pool.start({ port: 0 });
  return { url, logs, clock, pool };
}

async function complete(url: string, body: unknown) {
  const res = await fetch(`${url}/v1/complete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    headers: res.headers,
    body: (await res.json()) as Reply,
  };
}

async function healthz(url: string): Promise<PoolHealth & { status: string }> {
  return (await fetch(`${url}/healthz`)).json() as Promise<PoolHealth & { status: string }>;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('POST /v1/complete', () => {
  it('answers from the first provider, with its model, its own token counts and no failed attempts', async () => {
    const { url } = await startPool({ LLM_GROUPS: twoProviderGroups() });
    const res = await complete(url, request({ temperature: 0.2, maxTokens: 256 }));

    expect(res.status).toBe(200);
    const answer = CompletionResponse.parse(res.body);
    expect(answer).toMatchObject({
      content: `fake reply to: ${QUESTION}`,
      provider: 'ollama-local',
      model: 'llama3.2:3b',
      attempts: [],
      usage: {
        promptTokens: fakeTokenCount(`You are Mara, a helpful assistant. ${QUESTION}`),
        completionTokens: fakeTokenCount(`fake reply to: ${QUESTION}`),
      },
    });
    expect(ollama.requests).toHaveLength(1);
    expect(ollama.requests[0]).toMatchObject({
      model: 'llama3.2:3b',
      stream: false,
      messages: request().messages,
      options: { temperature: 0.2, num_predict: 256 },
    });
    expect(openai.requests).toHaveLength(0);
  });

  it('with LLM_GROUPS empty, serves group "fast" from OLLAMA_BASE_URL and OLLAMA_MODEL', async () => {
    const { url } = await startPool({ OLLAMA_BASE_URL: ollama.url, OLLAMA_MODEL: 'qwen2.5:0.5b' });
    const res = await complete(url, request());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ provider: 'ollama', model: 'qwen2.5:0.5b' });
  });

  it('falls back to the next provider when the first answers 500, and says which one answered', async () => {
    ollama.configure({ fail: true });
    openai.configure({ reply: () => 'The Oslo store opens at nine.' });
    const { url } = await startPool({ LLM_GROUPS: twoProviderGroups() });
    const res = await complete(url, request());

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      content: 'The Oslo store opens at nine.',
      provider: 'openai-backup',
      model: 'gpt-4o-mini',
      // the OpenAI-compatible server's own usage fields, not a count of ours
      usage: {
        promptTokens: fakeTokenCount(`You are Mara, a helpful assistant. ${QUESTION}`),
        completionTokens: 6,
      },
      attempts: [
        { provider: 'ollama-local', model: 'llama3.2:3b', error: expect.stringMatching(/^HTTP 500: /) },
      ],
    });
    expect(ollama.requests).toHaveLength(1);
    expect(openai.requests[0]).toMatchObject({
      model: 'gpt-4o-mini',
      authorization: 'Bearer sk-test',
      messages: request().messages,
    });
  });

  it('falls back when the first provider hangs past its timeout', async () => {
    ollama.configure({ hang: true });
    const { url } = await startPool({ LLM_GROUPS: twoProviderGroups('300ms') });
    const started = Date.now();
    const res = await complete(url, request());

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      provider: 'openai-backup',
      attempts: [{ provider: 'ollama-local', error: 'timed out after 300 ms' }],
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('skips a provider that keeps failing for the cool-down window, and tries it again after', async () => {
    ollama.configure({ fail: 503 });
    const clock = manualClock();
    const { url } = await startPool(
      { LLM_GROUPS: twoProviderGroups(), LLM_FAILURES_BEFORE_COOLDOWN: '2', LLM_COOLDOWN: '30s' },
      clock,
    );
    await complete(url, request());
    await complete(url, request());
    expect(ollama.requests).toHaveLength(2);

    // third call inside the window: Ollama is not asked at all
    clock.advance(29_000);
    const skipped = await complete(url, request());
    expect(ollama.requests).toHaveLength(2);
    expect(skipped.body).toMatchObject({
      provider: 'openai-backup',
      attempts: [{ provider: 'ollama-local', error: expect.stringMatching(/^skipped: cooling down until /) }],
    });
    const cooling = await healthz(url);
    expect(cooling.providers.find((p) => p.name === 'ollama-local')).toMatchObject({
      state: 'cooling_down',
      coolingDownUntil: new Date(clock.now() - 29_000 + 30_000).toISOString(),
      lastError: expect.stringMatching(/^HTTP 503/),
    });

    // after the window Ollama, now recovered, is asked again and answers
    ollama.configure({ fail: false });
    clock.advance(1_000);
    const recovered = await complete(url, request());
    expect(ollama.requests).toHaveLength(3);
    expect(recovered.body).toMatchObject({ provider: 'ollama-local', attempts: [] });
    const healthy = await healthz(url);
    expect(healthy.providers[0]).toMatchObject({ name: 'ollama-local', state: 'healthy' });
  });

  it('holds the concurrency limit: the N+1th call waits for a slot, and a full queue is refused with 503', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    ollama.configure({
      reply: async () => {
        await gate;
        return 'done';
      },
    });
    const { url } = await startPool({
      OLLAMA_BASE_URL: ollama.url,
      LLM_MAX_CONCURRENCY: '2',
      LLM_MAX_QUEUE: '1',
    });
    const calls = [complete(url, request()), complete(url, request()), complete(url, request())];
    await expect.poll(() => ollama.requests.length).toBe(2);
    await expect.poll(async () => (await healthz(url)).queued).toBe(1);
    // the third call is still waiting: the model has seen only two
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ollama.requests).toHaveLength(2);

    const refused = await complete(url, request());
    expect(refused.status).toBe(503);
    expect(refused.type).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.detail).toMatch(/concurrency limit/);

    open();
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(ollama.requests).toHaveLength(3);
  });

  it('stops waiting for the model when the caller gives up, freeing the slot without blaming the provider', async () => {
    ollama.configure({ hang: true });
    const { url } = await startPool({ LLM_GROUPS: twoProviderGroups('10s'), LLM_MAX_CONCURRENCY: '1' });
    const gaveUp = await fetch(`${url}/v1/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request()),
      signal: AbortSignal.timeout(200),
    }).catch((error: unknown) => error);
    expect(gaveUp).toBeInstanceOf(Error);
    await expect.poll(async () => (await healthz(url)).inFlight).toBe(0);
    const health = await healthz(url);
    expect(health.providers[0]).toMatchObject({ name: 'ollama-local', state: 'healthy' });
    // the backup was never asked on behalf of a caller who had left
    expect(openai.requests).toHaveLength(0);
  });

  it('answers 503 problem JSON listing every attempt when every choice fails', async () => {
    ollama.configure({ fail: 500 });
    openai.configure({ fail: 502 });
    const { url } = await startPool({ LLM_GROUPS: twoProviderGroups() });
    const res = await complete(url, request());

    expect(res.status).toBe(503);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: 'urn:konstruct:problem:unavailable',
      status: 503,
      modelGroup: 'fast',
      attempts: [
        { provider: 'ollama-local', model: 'llama3.2:3b', error: expect.stringMatching(/^HTTP 500/) },
        { provider: 'openai-backup', model: 'gpt-4o-mini', error: expect.stringMatching(/^HTTP 502/) },
      ],
    });
    expect(res.body.detail).toMatch(
      /^every choice of model group "fast" failed: ollama-local\/llama3.2:3b: HTTP 500/,
    );
    expect(res.body.detail).toMatch(/openai-backup\/gpt-4o-mini: HTTP 502/);
  });

  it('when no model server answers at all, says which to start or configure', async () => {
    const port = await closedPort();
    const { url } = await startPool({
      OLLAMA_BASE_URL: `http://127.0.0.1:${port}`,
      OLLAMA_MODEL: 'llama3.2:3b',
    });
    const res = await complete(url, request());

    expect(res.status).toBe(503);
    expect(res.body.detail).toBe(
      `no model server answered: start Ollama at http://127.0.0.1:${port} (ollama serve; ollama pull llama3.2:3b) or set LLM_GROUPS`,
    );
    expect(res.body.attempts[0]?.error).toMatch(/^unreachable at .*ECONNREFUSED/);
  });

  it('tells the operator to pull a model Ollama does not have, and falls back meanwhile', async () => {
    ollama.configure({ models: ['qwen2.5:0.5b'] });
    const { url } = await startPool({ LLM_GROUPS: twoProviderGroups() });
    const res = await complete(url, request());
    expect(res.body).toMatchObject({
      provider: 'openai-backup',
      attempts: [
        { provider: 'ollama-local', error: expect.stringMatching(/HTTP 404.*ollama pull llama3.2:3b/) },
      ],
    });
  });

  it('refuses a body that is not a completion request with 400 and the field problems', async () => {
    const { url } = await startPool({ OLLAMA_BASE_URL: ollama.url });
    const res = await complete(url, { tenantId: 'not-a-uuid', modelGroup: 'fast', messages: [] });
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body.issues.map((i) => i.path).sort()).toEqual(['messages', 'tenantId']);

    const malformed = await complete(url, '{"tenantId": ');
    expect(malformed.status).toBe(400);
    expect(ollama.requests).toHaveLength(0);
  });

  it('answers 404 for an unknown model group, naming the configured ones', async () => {
    const { url } = await startPool({ OLLAMA_BASE_URL: ollama.url });
    const res = await complete(url, request({ modelGroup: 'quality' }));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ type: 'urn:konstruct:problem:not_found' });
    expect(res.body.detail).toBe('unknown model group "quality" (configured: fast)');
  });

  it('logs tenant and correlation ids, and never the conversation, at info', async () => {
    ollama.configure({ fail: true });
    const { url, logs } = await startPool({ LLM_GROUPS: twoProviderGroups() });
    await complete(url, request());
    const answered = logs.lines.find((l) => l.msg === 'completion answered');
    expect(answered).toMatchObject({ tenantId: TENANT, correlationId: 'corr-1', provider: 'openai-backup' });
    expect(logs.lines.find((l) => l.msg === 'provider failed; trying the next choice')).toMatchObject({
      tenantId: TENANT,
      provider: 'ollama-local',
    });
    const everything = JSON.stringify(logs.lines);
    expect(everything).not.toContain('Oslo');
    expect(everything).not.toContain('helpful assistant');
  });
});

describe('GET /healthz', () => {
  it('reports the process up with each provider and group', async () => {
    const { url } = await startPool({ LLM_GROUPS: twoProviderGroups() });
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ok',
      providers: [
        { name: 'ollama-local', kind: 'ollama', state: 'healthy' },
        { name: 'openai-backup', kind: 'openai', state: 'healthy' },
      ],
      groups: { fast: ['ollama-local/llama3.2:3b', 'openai-backup/gpt-4o-mini'] },
      inFlight: 0,
      queued: 0,
    });
  });
});
