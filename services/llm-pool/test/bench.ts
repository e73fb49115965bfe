/**
 * `npm run bench -w @konstruct/llm-pool`: the pool's own overhead, kept under test/ because it uses the
 * testkit's fake Ollama. N callers post `POST /v1/complete` in a loop for a fixed time against a fake that
 * answers at once, so what is measured is parsing, the limiter, the `ollama` client and two loopback HTTP
 * hops, not a model. Callers, pool and fake share one process, so the figures are a floor, not a ceiling.
 *
 * Options (env, all optional): BENCH_CONNECTIONS (default 32), BENCH_SECONDS (default 10).
 */
import { loadConfig } from '@konstruct/config';
import { createLogger } from '@konstruct/core';
import { startFakeOllama } from '@konstruct/testkit';
import { createLlmPool } from '../src/index.ts';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);

const ollama = await startFakeOllama({ reply: () => 'ok' });
const pool = createLlmPool({
  config: loadConfig({ OLLAMA_BASE_URL: ollama.url, LLM_MAX_CONCURRENCY: String(connections) }, ['llm']),
  logger: createLogger({ service: 'llm-pool-bench', level: 'warn' }),
});
const url = await pool.start({ port: 0 });
// a realistic prompt: system prompt and a full 20-message session window
const body = JSON.stringify({
  tenantId: '6c1f4a52-8e0b-4d5e-9a57-1b7c1f0e2a11',
  modelGroup: 'fast',
  messages: [
    { role: 'system', content: 'You are Mara, a helpful assistant. You are an AI.' },
    ...Array.from({ length: 20 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `turn ${i}: a sentence of ordinary length about opening hours and returns.`,
    })),
  ],
});

const latencies: number[] = [];
let failed = 0;
const endAt = performance.now() + seconds * 1_000;
async function caller(): Promise<void> {
  while (performance.now() < endAt) {
    const started = performance.now();
    const res = await fetch(`${url}/v1/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await res.arrayBuffer();
    if (res.ok) latencies.push(performance.now() - started);
    else failed += 1;
  }
}
// a short warm-up so JIT and connection pools are settled before measuring
await Promise.all(
  Array.from({ length: 4 }, () =>
    fetch(`${url}/v1/complete`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    }).then((r) => r.arrayBuffer()),
  ),
);
const started = performance.now();
await Promise.all(Array.from({ length: connections }, caller));
const elapsed = (performance.now() - started) / 1_000;

latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  Number(
    (latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0).toFixed(1),
  );
console.log(
  JSON.stringify(
    {
      connections,
      seconds: Number(elapsed.toFixed(1)),
      answered: latencies.length,
      failed,
      completionsPerSecond: Math.round(latencies.length / elapsed),
      latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: pct(100) },
    },
    null,
    2,
  ),
);
await pool.stop();
await ollama.close();
