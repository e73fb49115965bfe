import { UnauthorizedError } from '@konstruct/core';
import { ForbiddenError } from '../http/errors.ts';
import { constantTimeEquals, hmacMatches } from '../signature.ts';

/**
 * Verifies Meta's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>` in constant time.
 * Throws {@link UnauthorizedError} when it is missing or does not match.
 */
export function verifyWhatsAppSignature(secret: string, header: string | undefined, rawBody: Buffer): void {
  if (!header) throw new UnauthorizedError('missing X-Hub-Signature-256');
  const ok = header.startsWith('sha256=') && hmacMatches(secret, [rawBody], header.slice(7));
  if (!ok) throw new UnauthorizedError('X-Hub-Signature-256 does not match the body');
}

/**
 * The webhook verification handshake: answers the `hub.challenge` when `hub.mode` is `subscribe` and the
 * `hub.verify_token` equals ours (compared in constant time); throws {@link ForbiddenError} otherwise.
 */
export function answerHandshake(
  query: { mode: string | undefined; token: string | undefined; challenge: string | undefined },
  verifyToken: string,
): string {
  const tokenOk = constantTimeEquals(query.token ?? '', verifyToken);
  if (query.mode !== 'subscribe' || !tokenOk || query.challenge === undefined) {
    throw new ForbiddenError('the verify token does not match or hub.mode is not subscribe');
  }
  return query.challenge;
}
