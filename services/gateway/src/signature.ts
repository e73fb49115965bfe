import { createHmac, timingSafeEqual } from 'node:crypto';

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * True when `presentedHex` is the hex HMAC-SHA256 of `parts` under `secret`. The comparison is constant-time over
 * the digest bytes; a malformed presented value is rejected without comparing.
 */
export function hmacMatches(
  secret: string,
  parts: readonly (string | Buffer)[],
  presentedHex: string,
): boolean {
  if (!HEX_SHA256.test(presentedHex)) return false;
  const hmac = createHmac('sha256', secret);
  for (const part of parts) hmac.update(part);
  return timingSafeEqual(hmac.digest(), Buffer.from(presentedHex, 'hex'));
}

/** Compares two strings in time that does not depend on where they first differ. */
export function constantTimeEquals(a: string, b: string): boolean {
  const left = createHmac('sha256', 'compare').update(a).digest();
  const right = createHmac('sha256', 'compare').update(b).digest();
  // Comparing fixed-length digests hides the length of the secret too.
  return timingSafeEqual(left, right);
}
