import { AppError, UnavailableError, ValidationError } from '@konstruct/core';
import { z } from 'zod';
import { type FetchLike, postJson, retryAfterMs, snippet } from './http.ts';

/** Slack's `error` strings that say "try again later" rather than "this request is wrong". */
const TRANSIENT_SLACK_ERRORS: ReadonlySet<string> = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

/** Slack's `error` strings that mean the token itself is bad: the connection needs a new one. */
const AUTH_SLACK_ERRORS: ReadonlySet<string> = new Set([
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
]);

/**
 * Slack refused a Web API call with `{ ok: false, error }` (HTTP 200, as Slack does) and retrying the same
 * call will not help: `channel_not_found`, `not_in_channel`, `invalid_auth`, `msg_too_long`, …
 * The `error` string is kept as Slack sent it, for the operator.
 */
export class SlackApiError extends AppError {
  /** The Web API method, e.g. `chat.postMessage`. */
  readonly method: string;
  /** Slack's error string, e.g. `channel_not_found`. */
  readonly error: string;
  /** True when the token is the problem (revoked, missing scope): the connection must be fixed. */
  readonly isAuthError: boolean;

  constructor(method: string, error: string, options: { needed?: string; cause?: unknown } = {}) {
    super(
      'slack_api_error',
      `slack ${method}: ${error}${options.needed ? ` (needs ${options.needed})` : ''}`,
      {
        details: { method, error, ...(options.needed ? { needed: options.needed } : {}) },
        ...(options.cause === undefined ? {} : { cause: options.cause }),
      },
    );
    this.method = method;
    this.error = error;
    this.isAuthError = AUTH_SLACK_ERRORS.has(error);
  }
}

/** Options for {@link createSlackClient}. */
export interface SlackClientOptions {
  /** The Web API root, e.g. `https://slack.com/api` (a fake on loopback in tests). */
  baseUrl: string;
  /** The workspace's bot token (`xoxb-…`), sent as `Authorization: Bearer`. */
  token: string;
  /** @default globalThis.fetch */
  fetch?: FetchLike;
  /** How long one call may take before it counts as unreachable. @default 10_000 */
  timeoutMs?: number;
}

/** `chat.postMessage` arguments we use. Exactly one of `text` and `markdown_text`. */
export interface PostMessageArgs {
  channel: string;
  /** Slack mrkdwn text (up to 40,000 characters; Slack truncates beyond). */
  text?: string;
  /** Standard Markdown, rendered by Slack (up to 12,000 characters); not combinable with `text`. */
  markdown_text?: string;
  /** The thread root's ts, to reply in the thread. */
  thread_ts?: string;
}

/** `chat.update` arguments we use. Exactly one of `text` and `markdown_text`. */
export interface UpdateArgs {
  channel: string;
  ts: string;
  text?: string;
  markdown_text?: string;
}

/** `chat.postEphemeral` arguments we use. */
export interface PostEphemeralArgs {
  channel: string;
  /** Who sees it. */
  user: string;
  text: string;
  thread_ts?: string;
}

/** Where a posted or updated message is: its channel and ts (Slack's message id). */
export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/** The three chat methods the orchestrator needs. */
export interface SlackClient {
  /** Posts a message; returns its channel and ts. */
  postMessage(args: PostMessageArgs): Promise<SlackMessageRef>;
  /** Replaces a message's content in place. */
  update(args: UpdateArgs): Promise<SlackMessageRef>;
  /** Shows a message to one person only; returns its `message_ts`. */
  postEphemeral(args: PostEphemeralArgs): Promise<{ messageTs: string }>;
}

const SlackAnswer = z.looseObject({
  ok: z.boolean(),
  error: z.string().optional(),
  needed: z.string().optional(),
  channel: z.string().optional(),
  ts: z.string().optional(),
  message_ts: z.string().optional(),
});

function contentOf(args: { text?: string; markdown_text?: string }, method: string): Record<string, string> {
  if ((args.text === undefined) === (args.markdown_text === undefined)) {
    throw new ValidationError(`slack ${method} needs exactly one of text and markdown_text`);
  }
  return args.markdown_text === undefined ? { text: args.text! } : { markdown_text: args.markdown_text };
}

/**
 * A Slack Web API client speaking the real protocol: JSON POSTs to `{baseUrl}/{method}` with the bot token
 * as a Bearer header. Failures are typed so callers decide without reading text:
 * - HTTP 429 (with `Retry-After`), HTTP 5xx, a network error or a timeout, and Slack's transient errors
 *   (`ratelimited`, `internal_error`, …) are {@link UnavailableError}, worth retrying;
 * - any other `{ ok: false, error }` is a {@link SlackApiError} keeping Slack's `error`.
 */
export function createSlackClient({
  baseUrl,
  token,
  fetch = globalThis.fetch,
  timeoutMs = 10_000,
}: SlackClientOptions): SlackClient {
  const root = baseUrl.replace(/\/+$/, '');

  async function call(method: string, body: Record<string, unknown>): Promise<z.infer<typeof SlackAnswer>> {
    const answer = await postJson({
      url: `${root}/${method}`,
      headers: { authorization: `Bearer ${token}` },
      body,
      fetch,
      timeoutMs,
      what: `slack ${method}`,
    });
    if (answer.status === 429) {
      const wait = retryAfterMs(answer.headers.get('retry-after'));
      throw new UnavailableError(`slack ${method}: rate limited (HTTP 429)`, {
        details: { method, error: 'ratelimited' },
        ...(wait === undefined ? {} : { retryAfterMs: wait }),
      });
    }
    if (answer.status >= 500) {
      throw new UnavailableError(`slack ${method}: HTTP ${answer.status} ${snippet(answer.body)}`, {
        details: { method, status: answer.status },
      });
    }
    const parsed = SlackAnswer.safeParse(answer.body);
    if (!parsed.success) {
      // a 4xx without Slack's envelope is a proxy or a wrong base URL: nothing a retry would fix
      throw new SlackApiError(method, `unexpected_response_http_${answer.status}`, { cause: parsed.error });
    }
    const data = parsed.data;
    if (!data.ok) {
      const error = data.error ?? 'unknown_error';
      if (TRANSIENT_SLACK_ERRORS.has(error)) {
        const wait = retryAfterMs(answer.headers.get('retry-after'));
        throw new UnavailableError(`slack ${method}: ${error}`, {
          details: { method, error },
          ...(wait === undefined ? {} : { retryAfterMs: wait }),
        });
      }
      throw new SlackApiError(method, error, data.needed ? { needed: data.needed } : {});
    }
    return data;
  }

  function messageRef(method: string, data: z.infer<typeof SlackAnswer>): SlackMessageRef {
    if (!data.channel || !data.ts) throw new SlackApiError(method, 'response_without_ts');
    return { channel: data.channel, ts: data.ts };
  }

  return {
    async postMessage(args) {
      const body = {
        channel: args.channel,
        ...contentOf(args, 'chat.postMessage'),
        ...(args.thread_ts ? { thread_ts: args.thread_ts } : {}),
      };
      return messageRef('chat.postMessage', await call('chat.postMessage', body));
    },
    async update(args) {
      const body = { channel: args.channel, ts: args.ts, ...contentOf(args, 'chat.update') };
      return messageRef('chat.update', await call('chat.update', body));
    },
    async postEphemeral(args) {
      const data = await call('chat.postEphemeral', {
        channel: args.channel,
        user: args.user,
        text: args.text,
        ...(args.thread_ts ? { thread_ts: args.thread_ts } : {}),
      });
      if (!data.message_ts) throw new SlackApiError('chat.postEphemeral', 'response_without_message_ts');
      return { messageTs: data.message_ts };
    },
  };
}
