import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback, readBody, sendJson } from './loopback.ts';

/** One Web API call the fake received. */
export interface FakeSlackCall {
  /** e.g. `chat.postMessage`. */
  method: string;
  /** The arguments, from a JSON or form-encoded body. */
  body: Record<string, unknown>;
  /** The `Authorization` header as sent. */
  authorization: string | undefined;
}

/** A message as it stands in the fake workspace (updated in place by `chat.update`). */
export interface FakeSlackMessage {
  channel: string;
  ts: string;
  thread_ts: string | undefined;
  text: string | undefined;
  markdown_text: string | undefined;
  /** How many times `chat.update` changed it. */
  updates: number;
}

/** An ephemeral message shown to one person. */
export interface FakeSlackEphemeral {
  channel: string;
  user: string;
  text: string;
  thread_ts: string | undefined;
  message_ts: string;
}

/** How the fake should fail, until told otherwise or `times` calls have failed. */
export interface FakeSlackFailure {
  /** Only this method fails. @default every method */
  method?: string;
  /** Answer HTTP 200 `{ ok: false, error }`, e.g. `channel_not_found`. */
  error?: string;
  /** Answer this HTTP status instead (429, 500, 503). */
  status?: number;
  /** With status 429: the `Retry-After` header, in seconds. */
  retryAfterSec?: number;
  /** Fail this many calls, then answer normally again. @default every call */
  times?: number;
}

/** A running fake Slack Web API. */
export interface FakeSlack {
  /** The Web API root to configure as `SLACK_API_BASE_URL`, e.g. `http://127.0.0.1:53124/api`. */
  url: string;
  /** Every call received, in order. */
  calls: FakeSlackCall[];
  /** Every posted message, as it stands now. */
  messages: FakeSlackMessage[];
  ephemerals: FakeSlackEphemeral[];
  /** Starts (or, with `undefined`, stops) failing calls. */
  failWith(failure: FakeSlackFailure | undefined): void;
  close(): Promise<void>;
}

/** Options for {@link startFakeSlack}. */
export interface FakeSlackOptions {
  /** The bot token it accepts; any other gets `invalid_auth`, none gets `not_authed`. @default any token */
  token?: string;
  /** Fail from the start. */
  failWith?: FakeSlackFailure;
  /** Delay every answer, to make a placeholder observable. @default 0 */
  latencyMs?: number;
}

/**
 * A real HTTP server on 127.0.0.1 speaking the part of Slack's Web API the orchestrator uses:
 * `chat.postMessage`, `chat.update` and `chat.postEphemeral`, with JSON or form bodies, Bearer auth, and
 * Slack's `{ ok, error }` answers on HTTP 200. It keeps the messages, so a test can assert what a person would
 * see, and fails on demand (Slack errors, 429 with Retry-After, 5xx).
 */
export async function startFakeSlack({
  token,
  failWith,
  latencyMs = 0,
}: FakeSlackOptions = {}): Promise<FakeSlack> {
  const calls: FakeSlackCall[] = [];
  const messages: FakeSlackMessage[] = [];
  const ephemerals: FakeSlackEphemeral[] = [];
  let failure = failWith ? { ...failWith } : undefined;
  let counter = 0;
  const nextTs = () => {
    counter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(counter).padStart(6, '0')}`;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => sendJson(res, 500, { ok: false, error: String(error) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const body = parseBody(raw, req.headers['content-type']);
    const authorization = req.headers.authorization;
    calls.push({ method, body, authorization });
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));

    if (failure && (!failure.method || failure.method === method)) {
      const f = failure;
      if (f.times !== undefined) {
        f.times -= 1;
        if (f.times <= 0) failure = undefined;
      }
      if (f.status !== undefined) {
        const headers: Record<string, string> =
          f.retryAfterSec === undefined ? {} : { 'retry-after': String(f.retryAfterSec) };
        return sendJson(
          res,
          f.status,
          { ok: false, error: f.status === 429 ? 'ratelimited' : 'fatal_error' },
          headers,
        );
      }
      return sendJson(res, 200, { ok: false, error: f.error ?? 'internal_error' });
    }

    const bearer = authorization?.replace(/^Bearer\s+/i, '') ?? (body.token as string | undefined);
    if (!bearer) return sendJson(res, 200, { ok: false, error: 'not_authed' });
    if (token !== undefined && bearer !== token)
      return sendJson(res, 200, { ok: false, error: 'invalid_auth' });

    const channel = str(body.channel);
    if (!channel) return sendJson(res, 200, { ok: false, error: 'channel_not_found' });
    const text = str(body.text);
    const markdown = str(body.markdown_text);
    switch (method) {
      case 'chat.postMessage': {
        if (!text && !markdown) return sendJson(res, 200, { ok: false, error: 'no_text' });
        if (text && markdown) return sendJson(res, 200, { ok: false, error: 'invalid_arguments' });
        const message: FakeSlackMessage = {
          channel,
          ts: nextTs(),
          thread_ts: str(body.thread_ts),
          text,
          markdown_text: markdown,
          updates: 0,
        };
        messages.push(message);
        return sendJson(res, 200, {
          ok: true,
          channel,
          ts: message.ts,
          message: { type: 'message', text: text ?? markdown, ts: message.ts, thread_ts: message.thread_ts },
        });
      }
      case 'chat.update': {
        const message = messages.find((m) => m.channel === channel && m.ts === str(body.ts));
        if (!message) return sendJson(res, 200, { ok: false, error: 'message_not_found' });
        if (!text && !markdown) return sendJson(res, 200, { ok: false, error: 'no_text' });
        message.text = text;
        message.markdown_text = markdown;
        message.updates += 1;
        return sendJson(res, 200, { ok: true, channel, ts: message.ts, text: text ?? markdown });
      }
      case 'chat.postEphemeral': {
        const user = str(body.user);
        if (!user) return sendJson(res, 200, { ok: false, error: 'user_not_in_channel' });
        if (!text) return sendJson(res, 200, { ok: false, error: 'no_text' });
        const ephemeral = { channel, user, text, thread_ts: str(body.thread_ts), message_ts: nextTs() };
        ephemerals.push(ephemeral);
        return sendJson(res, 200, { ok: true, message_ts: ephemeral.message_ts });
      }
      default:
        return sendJson(res, 404, { ok: false, error: 'unknown_method' });
    }
  }

  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/api`,
    calls,
    messages,
    ephemerals,
    failWith(next) {
      failure = next ? { ...next } : undefined;
    },
    close,
  };
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (raw.length === 0) return {};
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return {};
  }
}
