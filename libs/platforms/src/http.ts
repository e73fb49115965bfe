import { UnavailableError } from '@konstruct/core';

/** The `fetch` the clients call; injectable so a test or a proxy can stand in. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** What a platform answered, before the client reads it. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
}

/** One POST of a JSON body. */
export interface PostJsonRequest {
  url: string;
  headers: Record<string, string>;
  body: unknown;
  fetch: FetchLike;
  timeoutMs: number;
  /** Names the peer in error messages, e.g. `slack chat.postMessage`. */
  what: string;
}

/**
 * POSTs JSON and reads the answer. A peer that cannot be reached or does not answer within `timeoutMs` is an
 * {@link UnavailableError}: the caller may retry, because nothing proves the request was refused.
 */
export async function postJson({
  url,
  headers,
  body,
  fetch,
  timeoutMs,
  what,
}: PostJsonRequest): Promise<HttpAnswer> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : describe(error);
    throw new UnavailableError(`${what} unreachable: ${reason}`, { cause: error });
  }
  let parsed: unknown = text;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (a proxy's HTML error page): keep the text for the error message
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

/**
 * Reads a `Retry-After` header (seconds, or an HTTP date) as milliseconds from `now`; `undefined` when absent
 * or unreadable.
 */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A short, log-safe rendering of a body we could not read. */
export function snippet(body: unknown, max = 200): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return (text ?? '').slice(0, max);
}
