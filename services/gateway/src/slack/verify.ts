import { UnauthorizedError } from '@konstruct/core';
import { hmacMatches } from '../signature.ts';

/** The two headers Slack signs a request with, as received. */
export interface SlackSignatureHeaders {
  timestamp: string | undefined;
  signature: string | undefined;
}

/**
 * Checks the headers that can be checked without the secret: both present, the timestamp an integer within
 * `toleranceMs` of now (either way), so a replayed request is refused before any work. Returns the timestamp.
 */
export function checkSlackTimestamp(
  headers: SlackSignatureHeaders,
  nowMs: number,
  toleranceMs: number,
): string {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature) {
    throw new UnauthorizedError('missing X-Slack-Request-Timestamp or X-Slack-Signature');
  }
  if (!/^\d{1,12}$/.test(timestamp))
    throw new UnauthorizedError('X-Slack-Request-Timestamp is not a Unix time');
  if (Math.abs(nowMs - Number(timestamp) * 1000) > toleranceMs) {
    throw new UnauthorizedError('X-Slack-Request-Timestamp is outside the allowed window');
  }
  return timestamp;
}

/**
 * Verifies Slack's v0 signature: `v0=` + hex HMAC-SHA256(secret, `v0:<timestamp>:<raw body>`), compared in
 * constant time over the exact bytes received. Throws {@link UnauthorizedError} when it does not match.
 */
export function verifySlackSignature(
  secret: string,
  timestamp: string,
  signature: string,
  rawBody: Buffer,
): void {
  const ok =
    signature.startsWith('v0=') && hmacMatches(secret, [`v0:${timestamp}:`, rawBody], signature.slice(3));
  if (!ok) throw new UnauthorizedError('X-Slack-Signature does not match the body');
}
