// `npm start`: runs the whole Konstruct system on this machine, then shows it working.
//
//  1. makes sure Postgres, Redis and NATS answer (scripts/services-up.sh), creates the roles and database
//     (scripts/init-db.sh) and applies the migrations;
//  2. sets up a demo tenant (slug `demo`) with an agent and the fixtures' Slack workspace and WhatsApp number;
//  3. starts gateway, router, orchestrator, llm-pool and projections as processes, as docker-compose would;
//  4. sends a signed Slack @mention through the gateway and prints the agent's reply, or, when no model
//     server answers, says in one line which to start or configure;
//  5. keeps running until Ctrl-C, then drains every service.
//
// Settings come from the environment and `.env`; what a dev machine lacks gets a development default, kept
// in .data/dev.env so restarts reuse it. Without SLACK_API_BASE_URL / WHATSAPP_GRAPH_BASE_URL a local stand-in
// for the Slack Web API and the Graph API receives the replies (this machine has no route to the real ones).
//
// Flags: --no-demo (skip step 4), --demo-llm (answer with a built-in stand-in model instead of Ollama).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { connectBus } from '@konstruct/bus';
import { loadConfig } from '@konstruct/config';
import { parseEvent } from '@konstruct/contracts';
import {
  ChannelConnection,
  connectChannel,
  createAgent,
  createTenant,
  credentialsKey,
  getTenant,
  listAgents,
  listConnections,
  migrate,
  openDatabase,
  resolveConnection,
  withTenant,
} from '@konstruct/db';
import { tenantWildcard, topology } from '@konstruct/names';
import {
  fixture,
  SERVICES,
  slackSignatureHeaders,
  startFakeGraph,
  startFakeOllama,
  startFakeSlack,
  startStack,
} from '@konstruct/testkit';

const run = promisify(execFile);
const root = new URL('../', import.meta.url);
const args = new Set(process.argv.slice(2));
const say = (line: string) => process.stdout.write(`konstruct ▸ ${line}\n`);

// --- settings ------------------------------------------------------------------------------------------
function readEnvFile(path: URL): Record<string, string> {
  if (!existsSync(path)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*(?:#.*)?$/.exec(line);
    if (m?.[2]) out[m[1]!] = m[2].replace(/^["']|["']$/g, '');
  }
  return out;
}

mkdirSync(new URL('.data/', root), { recursive: true });
const devEnvPath = new URL('.data/dev.env', root);
const devEnv = readEnvFile(devEnvPath);
if (!devEnv.CREDENTIALS_KEY) {
  Object.assign(devEnv, {
    CREDENTIALS_KEY: randomBytes(32).toString('base64'),
    SLACK_SIGNING_SECRET: `dev-slack-${randomBytes(8).toString('hex')}`,
    WHATSAPP_APP_SECRET: `dev-meta-${randomBytes(8).toString('hex')}`,
    WHATSAPP_VERIFY_TOKEN: `dev-verify-${randomBytes(8).toString('hex')}`,
  });
  writeFileSync(
    devEnvPath,
    `# development defaults made by npm start; .env and the environment win over these\n${Object.entries(
      devEnv,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
}
const env: Record<string, string> = { LOG_LEVEL: 'info', ...devEnv, ...readEnvFile(new URL('.env', root)) };
for (const [k, v] of Object.entries(process.env))
  if (v !== undefined && /^[A-Z][A-Z0-9_]*$/.test(k)) env[k] = v;

const stopAll: (() => Promise<void>)[] = [];

try {
  // --- 1. infrastructure -----------------------------------------------------------------------------
  const up = await run('bash', ['scripts/services-up.sh'], { cwd: root }).catch(
    (e: { stdout?: string; stderr?: string }) => {
      throw new Error(`could not bring Postgres, Redis and NATS up:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    },
  );
  for (const line of up.stdout.trim().split('\n')) say(line.replace(/^services-up: /, ''));
  await run('bash', ['scripts/init-db.sh'], {
    cwd: root,
    env: {
      ...process.env,
      PGHOST: process.env.PGHOST ?? '127.0.0.1',
      PGUSER: process.env.PGUSER ?? 'postgres',
    },
  });
  const config = loadConfig(env, ['nats', 'database', 'gateway', 'llm', 'orchestrator']);
  const owner = await openDatabase({ url: config.DATABASE_OWNER_URL, poolMax: 1 });
  const applied = await migrate(owner);
  await owner.close(true);
  say(applied.length ? `database migrated (${applied.length} migrations)` : 'database is up to date');

  // --- 2. the demo tenant ----------------------------------------------------------------------------
  const ids = { team: 'T0ACME0001', bot: 'U0BOTMARA', botId: 'B0MARABOT1', phone: '106540352242922' };
  const orm = await openDatabase({ url: config.DATABASE_URL, poolMax: 2 });
  const key = credentialsKey(config.CREDENTIALS_KEY);
  const tenant = await getTenant(orm, 'demo').catch(() =>
    createTenant(orm, { name: 'Demo Co', slug: 'demo' }),
  );
  if ((await listAgents(orm, tenant.id)).length === 0) {
    await createAgent(orm, tenant.id, {
      name: 'Mara',
      role: 'operations assistant',
      persona: 'Mara helps the Demo Co team with questions about their work.',
      tone: 'warm and concise',
    });
  }
  // demo connections sealed under another CREDENTIALS_KEY (a new .data/dev.env) cannot be opened: seal them anew
  for (const [channel, workspaceId] of [
    ['slack', ids.team],
    ['whatsapp', ids.phone],
  ] as const) {
    const sealedElsewhere = await resolveConnection(orm, key, channel, workspaceId).then(
      () => false,
      () => true,
    );
    if (sealedElsewhere) {
      say(`re-sealing the demo ${channel} connection under this CREDENTIALS_KEY`);
      await withTenant(orm, tenant.id, (em) => em.nativeDelete(ChannelConnection, { workspaceId }));
    }
  }
  const connections = await listConnections(orm, tenant.id);
  if (!connections.some((c) => c.channelType === 'slack')) {
    await connectChannel(orm, key, tenant.id, {
      channelType: 'slack',
      workspaceId: ids.team,
      botToken: 'xoxb-demo-token',
      botUserId: ids.bot,
      botId: ids.botId,
    }).catch((e: Error) => say(`slack demo workspace not connected: ${e.message}`));
  }
  if (!connections.some((c) => c.channelType === 'whatsapp')) {
    await connectChannel(orm, key, tenant.id, {
      channelType: 'whatsapp',
      workspaceId: ids.phone,
      accessToken: 'demo-graph-token',
    }).catch((e: Error) => say(`whatsapp demo number not connected: ${e.message}`));
  }
  await orm.close(true);
  say(`tenant demo (${tenant.id}) has agent Mara on Slack ${ids.team} and WhatsApp ${ids.phone}`);

  // --- stand-ins for what this machine cannot reach ------------------------------------------------
  if (!env.SLACK_API_BASE_URL) {
    const slack = await startFakeSlack();
    stopAll.push(() => slack.close());
    env.SLACK_API_BASE_URL = slack.url;
    say(`Slack Web API stand-in at ${slack.url} (set SLACK_API_BASE_URL to use the real one)`);
  }
  if (!env.WHATSAPP_GRAPH_BASE_URL) {
    const graph = await startFakeGraph();
    stopAll.push(() => graph.close());
    env.WHATSAPP_GRAPH_BASE_URL = graph.url;
    say(`WhatsApp Graph API stand-in at ${graph.url} (set WHATSAPP_GRAPH_BASE_URL to use the real one)`);
  }
  if (args.has('--demo-llm')) {
    const model = await startFakeOllama({
      reply: (req) =>
        `Hi! I'm Mara, an AI assistant (answering with the built-in demo model). You said: "${req.messages.at(-1)?.content ?? ''}"`,
    });
    stopAll.push(() => model.close());
    env.OLLAMA_BASE_URL = model.url;
    env.LLM_GROUPS = '';
    say(`demo model (an echo, not an LLM) at ${model.url}`);
  }

  // --- 3. the services --------------------------------------------------------------------------------
  const stack = startStack({
    env,
    onLine: (service, line) => {
      if (env.LOG_LEVEL === 'debug' || /"level":(40|50|60)/.test(line))
        process.stdout.write(`${service.padEnd(12)}| ${line}\n`);
    },
  });
  stopAll.unshift(() => stack.stop());
  const gatewayUrl = `http://127.0.0.1:${config.GATEWAY_PORT}`;
  await waitForHttp(`${gatewayUrl}/readyz`, 60_000, 'gateway');
  await waitForHttp(`http://127.0.0.1:${config.LLM_POOL_PORT}/healthz`, 60_000, 'llm-pool');
  say(
    `running: ${SERVICES.join(', ')}; webhooks at ${gatewayUrl}/slack/events and ${gatewayUrl}/whatsapp/webhook`,
  );

  // --- 4. the demo ------------------------------------------------------------------------------------
  if (!args.has('--no-demo')) {
    const missing = await modelServerProblem(env);
    if (missing) say(missing);
    else await demo(gatewayUrl, tenant.id, env, config.SLACK_SIGNING_SECRET);
  }
  say('press Ctrl-C to stop');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  say('stopping…');
} catch (error) {
  say(`error: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  for (const stop of stopAll) await stop().catch(() => undefined);
}

/** One line saying which model server to start or configure, or undefined when one answers. */
async function modelServerProblem(env: Record<string, string>): Promise<string | undefined> {
  if (env.LLM_GROUPS) return undefined; // custom groups: the llm-pool's own fallbacks decide
  const base = env.OLLAMA_BASE_URL ?? 'http://127.0.0.1:11434';
  const model = env.OLLAMA_MODEL ?? 'llama3.2:3b';
  try {
    const res = await fetch(`${base}/api/tags`, { signal: AbortSignal.timeout(2_000) });
    const tags = (await res.json()) as { models?: { name: string }[] };
    if (!tags.models?.some((m) => m.name === model || m.name === `${model}:latest`)) {
      return `Ollama answers at ${base} but has no ${model}: run \`ollama pull ${model}\` (or set OLLAMA_MODEL), then npm start again`;
    }
    return undefined;
  } catch {
    return `no model server answers at ${base}: start Ollama (\`ollama serve\` and \`ollama pull ${model}\`), set LLM_GROUPS to an OpenAI-compatible endpoint, or try \`npm start -- --demo-llm\``;
  }
}

/** Sends a signed @mention through the gateway and prints the reply as the agent posted it. */
async function demo(
  gatewayUrl: string,
  tenantId: string,
  env: Record<string, string>,
  signingSecret: string,
): Promise<void> {
  const topo = topology({
    prefix: env.NATS_SUBJECT_PREFIX ?? '',
    events: env.NATS_STREAM,
    ops: env.NATS_OPS_STREAM,
  });
  const bus = await connectBus({ url: env.NATS_URL ?? 'nats://127.0.0.1:4222', name: 'konstruct-demo' });
  const sub = bus.nc.subscribe(tenantWildcard(topo, tenantId));
  try {
    const body = fixture<Record<string, unknown> & { event: Record<string, unknown> }>(
      'slack/app_mention.json',
    );
    const ts = `${Math.floor(Date.now() / 1000)}.${String(Date.now() % 1000).padStart(6, '0')}`;
    body.event_id = `Ev0DEMO${randomBytes(5).toString('hex').toUpperCase()}`;
    body.event_time = Math.floor(Date.now() / 1000);
    body.event = { ...body.event, ts, event_ts: ts, text: '<@U0BOTMARA> hello! what can you do for us?' };
    const raw = JSON.stringify(body);
    say('sending a signed Slack @mention through the gateway: "@Mara hello! what can you do for us?"');
    const res = await fetch(`${gatewayUrl}/slack/events`, {
      method: 'POST',
      headers: slackSignatureHeaders(signingSecret, raw),
      body: raw,
    });
    say(`gateway answered ${res.status} once JetStream had stored the event`);
    const deadline = setTimeout(() => sub.unsubscribe(), 120_000);
    for await (const msg of sub) {
      const event = parseEvent(msg.json());
      if (event.type === 'message.routed') say(`router: routed to the agent (${event.data.reason})`);
      if (event.type === 'message.rejected')
        say(`router: rejected (${event.data.reason}: ${event.data.detail})`);
      if (event.type === 'agent.replied') {
        say(
          `${event.data.kind === 'answer' ? `agent replied via ${event.data.provider}/${event.data.model}` : 'agent apologised'}:`,
        );
        process.stdout.write(`\n    ${event.data.reply.text.replaceAll('\n', '\n    ')}\n\n`);
      }
      if (event.type === 'delivery.succeeded') {
        say(`delivered in the Slack thread ${event.data.threadId} (message ${event.data.platformMessageId})`);
        break;
      }
      if (event.type === 'delivery.failed') {
        say(`delivery failed: ${event.data.reason}`);
        break;
      }
    }
    clearTimeout(deadline);
  } finally {
    sub.unsubscribe();
    await bus.nc.drain();
  }
}

async function waitForHttp(url: string, timeoutMs: number, name: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(1_000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${name} did not become ready at ${url} within ${timeoutMs / 1000} s`);
}
