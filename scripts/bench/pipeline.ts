// npm run bench:pipeline [-- --conversations N --turns K --concurrency C]
//
// Drives N Slack conversations of K turns each through the whole system (gateway, router, orchestrator,
// llm-pool, projections as processes; real NATS, Postgres, Redis; fake Slack Web API and an instant fake
// model on loopback). Each person waits for the agent's answer before writing again, as people do; C
// conversations run at once. Reports messages/s end to end and the p50/p99 time from webhook to delivered
// reply, minus the model's own time (agent.replied latencyMs).
import { parseArgs } from 'node:util';
import { parseEvent } from '@konstruct/contracts';
import { ACME, newTs, slackFixture, startSystem } from '@konstruct/testkit';

const { values } = parseArgs({
  options: {
    conversations: { type: 'string', default: '200' },
    turns: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '40' },
  },
});
const conversations = Number(values.conversations);
const turns = Number(values.turns);
const concurrency = Number(values.concurrency);
for (const [name, n] of Object.entries({ conversations, turns, concurrency })) {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number`);
}

console.log(`starting the system (5 services as processes)…`);
const system = await startSystem({
  reply: (req) => `ok: ${req.messages.at(-1)?.content}`,
  rateLimitMessages: 1_000_000,
  extraEnv: { LOG_LEVEL: 'warn' },
});

type Pending = { sentAt: number; resolve: (ms: number) => void };
const pendingByTs = new Map<string, Pending>();
const replyToTs = new Map<string, { ts: string; llmMs: number }>();
const sub = system.bus.nc.subscribe(`${system.bus.topology.prefix}tenant.>`);
(async () => {
  for await (const msg of sub) {
    const event = parseEvent(msg.json());
    if (event.type === 'agent.replied') {
      replyToTs.set(event.id, { ts: event.data.message.platformMessageId, llmMs: event.data.latencyMs ?? 0 });
    } else if (event.type === 'delivery.succeeded') {
      const reply = replyToTs.get(event.data.replyEventId);
      const pending = reply && pendingByTs.get(reply.ts);
      if (reply && pending) {
        pendingByTs.delete(reply.ts);
        pending.resolve(Date.now() - pending.sentAt - reply.llmMs);
      }
    }
  }
})();

const latencies: number[] = [];
let failures = 0;

async function turn(channel: string, text: string, threadTs?: string): Promise<string> {
  const ts = newTs() + String(Math.floor(Math.random() * 10));
  const body = threadTs
    ? slackFixture('message_in_thread', (b) => {
        b.event = { ...b.event, ts, event_ts: ts, thread_ts: threadTs, channel, text };
      })
    : slackFixture('app_mention', (b) => {
        b.event = { ...b.event, ts, event_ts: ts, channel, text: `<@${ACME.bot}> ${text}` };
      });
  const delivered = new Promise<number>((resolve, reject) => {
    pendingByTs.set(ts, { sentAt: Date.now(), resolve });
    setTimeout(() => reject(new Error(`no reply to ${ts} within 60 s`)), 60_000).unref();
  });
  const status = await system.slackEvent(body);
  if (status !== 200) throw new Error(`gateway answered ${status}`);
  latencies.push(await delivered);
  return ts;
}

async function conversation(i: number): Promise<void> {
  const channel = `C0BENCH${String(Math.abs(i) % 50).padStart(3, '0')}`;
  try {
    const root = await turn(channel, `conversation ${i} turn 0`);
    for (let k = 1; k < turns; k++) await turn(channel, `conversation ${i} turn ${k}`, root);
  } catch (error) {
    failures += 1;
    console.error(`conversation ${i}: ${(error as Error).message}`);
  }
}

// warm up: one conversation alone, so JIT and connection pools are ready
await conversation(-1);
latencies.length = 0;

console.log(`driving ${conversations} conversations × ${turns} turns, ${concurrency} at once…`);
const started = Date.now();
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(concurrency, conversations) }, async () => {
    while (next < conversations) await conversation(next++);
  }),
);
const elapsedSec = (Date.now() - started) / 1000;
sub.unsubscribe();

latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
const rate = latencies.length / elapsedSec;
console.log('');
console.log(
  '| messages | conversations × turns | concurrency | messages/s | p50 webhook→delivered | p99 | failed conversations |',
);
console.log('|---|---|---|---|---|---|---|');
console.log(
  `| ${latencies.length} | ${conversations} × ${turns} | ${concurrency} | ${rate.toFixed(1)} | ${pct(50).toFixed(0)} ms | ${pct(99).toFixed(0)} ms | ${failures} |`,
);
console.log('(latency excludes the model’s own time; the fake model answers at once)');

await system.close();
process.exit(failures === 0 ? 0 : 1);
