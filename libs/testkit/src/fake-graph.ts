import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback, readBody, sendJson } from './loopback.ts';

/** One send the fake received. */
export interface FakeGraphCall {
  /** e.g. `v23.0`. */
  version: string;
  phoneNumberId: string;
  body: Record<string, unknown>;
  authorization: string | undefined;
}

/** A message the fake accepted. */
export interface FakeGraphMessage {
  /** The wamid it answered with. */
  id: string;
  phoneNumberId: string;
  to: string;
  text: string | undefined;
  /** The quoted wamid (`context.message_id`), when the message is a contextual reply. */
  replyTo: string | undefined;
}

/** A Graph error to answer with, until told otherwise or `times` calls have failed. */
export interface FakeGraphFailure {
  /** HTTP status. @default 400 */
  status?: number;
  /** Graph's error code, e.g. 190 (expired token), 130429 (throughput), 131047 (outside the 24 h window). */
  code: number;
  subcode?: number;
  message?: string;
  type?: string;
  /** Fail this many calls, then answer normally. @default every call */
  times?: number;
}

/** A running fake Graph API. */
export interface FakeGraph {
  /** The Graph root to configure as `WHATSAPP_GRAPH_BASE_URL`, e.g. `http://127.0.0.1:53125`. */
  url: string;
  calls: FakeGraphCall[];
  /** Every accepted message. */
  messages: FakeGraphMessage[];
  failWith(failure: FakeGraphFailure | undefined): void;
  close(): Promise<void>;
}

/** Options for {@link startFakeGraph}. */
export interface FakeGraphOptions {
  /** The access token it accepts; another gets Graph's 401 with code 190. @default any token */
  accessToken?: string;
  failWith?: FakeGraphFailure;
}

/**
 * A real HTTP server on 127.0.0.1 speaking the WhatsApp Cloud API's send endpoint,
 * `POST /{version}/{phone_number_id}/messages`: it checks the Bearer token and the body's shape, answers
 * `{ messaging_product, contacts, messages: [{ id: wamid }] }`, and fails on demand with Graph's
 * `{ error: { message, type, code, error_subcode, fbtrace_id } }`.
 */
export async function startFakeGraph({ accessToken, failWith }: FakeGraphOptions = {}): Promise<FakeGraph> {
  const calls: FakeGraphCall[] = [];
  const messages: FakeGraphMessage[] = [];
  let failure = failWith ? { ...failWith } : undefined;

  const graphError = (res: ServerResponse, status: number, code: number, message: string, extra = {}) =>
    sendJson(res, status, {
      error: {
        message,
        type: 'OAuthException',
        code,
        fbtrace_id: `A${randomBytes(8).toString('hex')}`,
        ...extra,
      },
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const match = /^\/(v\d+\.\d+)\/(\d+)\/messages$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (req.method !== 'POST' || !match) {
      return graphError(res, 400, 100, 'Unsupported request - method type or path', {
        type: 'GraphMethodException',
      });
    }
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return graphError(res, 400, 100, 'Invalid parameter');
    }
    const authorization = req.headers.authorization;
    calls.push({ version: match[1]!, phoneNumberId: match[2]!, body, authorization });

    if (failure) {
      const f = failure;
      if (f.times !== undefined) {
        f.times -= 1;
        if (f.times <= 0) failure = undefined;
      }
      return graphError(res, f.status ?? 400, f.code, f.message ?? `fake failure ${f.code}`, {
        ...(f.type ? { type: f.type } : {}),
        ...(f.subcode === undefined ? {} : { error_subcode: f.subcode }),
      });
    }
    const bearer = authorization?.replace(/^Bearer\s+/i, '');
    if (!bearer || (accessToken !== undefined && bearer !== accessToken)) {
      return graphError(res, 401, 190, 'Invalid OAuth access token - Cannot parse access token');
    }
    const text = (body.text as { body?: unknown } | undefined)?.body;
    if (body.messaging_product !== 'whatsapp' || typeof body.to !== 'string' || body.type !== 'text') {
      return graphError(res, 400, 100, 'Invalid parameter', { error_subcode: 2494010 });
    }
    if (typeof text !== 'string' || text.length === 0 || text.length > 4096) {
      return graphError(res, 400, 100, "Param text['body'] must be 1-4096 characters");
    }
    const id = `wamid.${Buffer.from(randomBytes(18)).toString('base64')}`;
    messages.push({
      id,
      phoneNumberId: match[2]!,
      to: body.to,
      text,
      replyTo: (body.context as { message_id?: string } | undefined)?.message_id,
    });
    return sendJson(res, 200, {
      messaging_product: 'whatsapp',
      contacts: [{ input: body.to, wa_id: body.to }],
      messages: [{ id, message_status: 'accepted' }],
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => sendJson(res, 500, { error: { message: String(error), code: 1 } }));
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    messages,
    failWith(next) {
      failure = next ? { ...next } : undefined;
    },
    close,
  };
}
