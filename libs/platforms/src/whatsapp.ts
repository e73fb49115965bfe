import { AppError, UnavailableError, ValidationError } from '@konstruct/core';
import { z } from 'zod';
import { type FetchLike, postJson, retryAfterMs, snippet } from './http.ts';

/** The longest text body the Cloud API accepts. */
export const WHATSAPP_TEXT_LIMIT = 4096;

/**
 * Graph error codes that mean "too much, slow down": app-level throttling (4), the WhatsApp Business
 * Account's rate limit (80007), the phone number's throughput (130429), the business↔customer pair rate
 * (131056, about one message every 6 s) and the spam rate limit (131048).
 */
const RATE_LIMIT_CODES: ReadonlySet<number> = new Set([4, 80007, 130429, 131056, 131048]);

/** Graph error codes that mean "our side had a problem, try again": unknown (1), temporarily down (2), 131000, 131016. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([1, 2, 131000, 131016]);

/** How long to wait after a pair-rate-limit error: Meta allows about one message per 6 s to one customer. */
const PAIR_RATE_WAIT_MS = 6_000;

/**
 * The Graph API refused a message and sending it again will not help: an expired token (190), a missing
 * permission (10, 200), a customer outside the 24-hour window (131047), an invalid recipient (131026), …
 * Keeps Graph's `code`, `error_subcode`, `type` and `fbtrace_id` for the operator and Meta support.
 */
export class GraphApiError extends AppError {
  /** The HTTP status Graph answered with. */
  readonly status: number;
  /** Graph's numeric error code, e.g. 190 or 131047. */
  readonly graphCode: number | undefined;
  readonly subcode: number | undefined;
  /** Graph's error type, e.g. `OAuthException`. */
  readonly type: string | undefined;
  /** Meta's trace id, what Meta support asks for. */
  readonly fbtraceId: string | undefined;

  constructor(
    message: string,
    fields: { status: number; graphCode?: number; subcode?: number; type?: string; fbtraceId?: string },
    cause?: unknown,
  ) {
    super('graph_api_error', message, {
      details: { ...fields },
      ...(cause === undefined ? {} : { cause }),
    });
    this.status = fields.status;
    this.graphCode = fields.graphCode;
    this.subcode = fields.subcode;
    this.type = fields.type;
    this.fbtraceId = fields.fbtraceId;
  }

  /** True when the access token is the problem (expired, revoked, missing permission). */
  get isAuthError(): boolean {
    return this.status === 401 || this.graphCode === 190 || this.graphCode === 10 || this.graphCode === 200;
  }
}

/** Options for {@link createWhatsAppClient}. */
export interface WhatsAppClientOptions {
  /** The Graph API root, e.g. `https://graph.facebook.com` (a fake on loopback in tests). */
  baseUrl: string;
  /** e.g. `v23.0`. */
  apiVersion: string;
  /** The system-user or business token, sent as `Authorization: Bearer`. */
  accessToken: string;
  /** The business phone number id messages are sent from. */
  phoneNumberId: string;
  /** @default globalThis.fetch */
  fetch?: FetchLike;
  /** How long one call may take before it counts as unreachable. @default 10_000 */
  timeoutMs?: number;
}

/** One text message to send. */
export interface SendTextArgs {
  /** The customer's WhatsApp id (phone number with country code, digits only). */
  to: string;
  /** Up to {@link WHATSAPP_TEXT_LIMIT} characters. */
  text: string;
  /** A wamid to quote (a contextual reply). */
  replyTo?: string;
  /** Whether WhatsApp renders a preview of the first link. @default false */
  previewUrl?: boolean;
}

/** What the Cloud API answered for an accepted message. */
export interface SentMessage {
  /** The new message's wamid. */
  messageId: string;
  /** The recipient's WhatsApp id, when Graph returns it. */
  waId: string | undefined;
  /** Graph's `message_status` (e.g. `accepted`), when present. */
  status: string | undefined;
}

/** The Cloud API calls the orchestrator needs. */
export interface WhatsAppClient {
  /** Sends a text message, optionally quoting one; returns the new wamid. */
  sendText(args: SendTextArgs): Promise<SentMessage>;
}

const SendAnswer = z.looseObject({
  messaging_product: z.literal('whatsapp').optional(),
  contacts: z
    .array(z.looseObject({ input: z.string().optional(), wa_id: z.string().optional() }))
    .default([]),
  messages: z.array(z.looseObject({ id: z.string().min(1), message_status: z.string().optional() })).min(1),
});

const GraphError = z.looseObject({
  error: z.looseObject({
    message: z.string().default(''),
    type: z.string().optional(),
    code: z.coerce.number().int().optional(),
    error_subcode: z.coerce.number().int().optional(),
    fbtrace_id: z.string().optional(),
    error_data: z.looseObject({ details: z.string().optional() }).optional(),
  }),
});

/**
 * A WhatsApp Cloud API client: `POST {baseUrl}/{apiVersion}/{phoneNumberId}/messages` with a Bearer token.
 * Graph errors are typed: rate limits (codes 4, 80007, 130429, 131056, 131048), Graph's transient codes,
 * HTTP 5xx, timeouts and network errors are {@link UnavailableError}; the rest are {@link GraphApiError}.
 */
export function createWhatsAppClient({
  baseUrl,
  apiVersion,
  accessToken,
  phoneNumberId,
  fetch = globalThis.fetch,
  timeoutMs = 10_000,
}: WhatsAppClientOptions): WhatsAppClient {
  if (!/^v\d+\.\d+$/.test(apiVersion)) throw new ValidationError(`Graph API version must look like v23.0`);
  if (!/^\d+$/.test(phoneNumberId)) throw new ValidationError('a WhatsApp phone number id is digits');
  const url = `${baseUrl.replace(/\/+$/, '')}/${apiVersion}/${phoneNumberId}/messages`;

  return {
    async sendText({ to, text, replyTo, previewUrl = false }) {
      if (text.length === 0 || text.length > WHATSAPP_TEXT_LIMIT) {
        throw new ValidationError(
          `a WhatsApp text body is 1–${WHATSAPP_TEXT_LIMIT} characters, got ${text.length}`,
        );
      }
      const answer = await postJson({
        url,
        headers: { authorization: `Bearer ${accessToken}` },
        body: {
          messaging_product: 'whatsapp',
          recipient_type: 'individual',
          to,
          type: 'text',
          text: { body: text, preview_url: previewUrl },
          ...(replyTo ? { context: { message_id: replyTo } } : {}),
        },
        fetch,
        timeoutMs,
        what: 'whatsapp messages',
      });
      if (answer.status >= 200 && answer.status < 300) {
        const parsed = SendAnswer.safeParse(answer.body);
        if (!parsed.success) {
          throw new GraphApiError(
            `whatsapp messages: answer without a message id: ${snippet(answer.body)}`,
            { status: answer.status },
            parsed.error,
          );
        }
        const first = parsed.data.messages[0]!;
        return { messageId: first.id, waId: parsed.data.contacts[0]?.wa_id, status: first.message_status };
      }
      throw graphFailure(answer.status, answer.body, answer.headers);
    },
  };
}

/** Maps a Graph error answer to {@link UnavailableError} (retry) or {@link GraphApiError} (give up). */
function graphFailure(status: number, body: unknown, headers: Headers): AppError {
  const parsed = GraphError.safeParse(body);
  if (!parsed.success) {
    if (status >= 500 || status === 429) {
      return new UnavailableError(`whatsapp messages: HTTP ${status} ${snippet(body)}`, {
        details: { status },
      });
    }
    return new GraphApiError(`whatsapp messages: HTTP ${status} ${snippet(body)}`, { status });
  }
  const e = parsed.data.error;
  const fields = {
    status,
    ...(e.code === undefined ? {} : { graphCode: e.code }),
    ...(e.error_subcode === undefined ? {} : { subcode: e.error_subcode }),
    ...(e.type === undefined ? {} : { type: e.type }),
    ...(e.fbtrace_id === undefined ? {} : { fbtraceId: e.fbtrace_id }),
  };
  const detail = e.error_data?.details ? ` (${e.error_data.details})` : '';
  const message = `whatsapp messages: ${e.code === undefined ? '' : `#${e.code} `}${e.message}${detail}`;
  const rateLimited = e.code !== undefined && RATE_LIMIT_CODES.has(e.code);
  if (
    rateLimited ||
    status === 429 ||
    status >= 500 ||
    (e.code !== undefined && TRANSIENT_CODES.has(e.code))
  ) {
    const wait =
      retryAfterMs(headers.get('retry-after')) ?? (e.code === 131056 ? PAIR_RATE_WAIT_MS : undefined);
    return new UnavailableError(message, {
      details: fields,
      ...(wait === undefined ? {} : { retryAfterMs: wait }),
    });
  }
  return new GraphApiError(message, fields);
}
