import { ValidationError } from '@konstruct/core';
import { assertTenantId } from './subjects.ts';

// A discriminator part may hold what platform ids hold (Slack ts "1700000000.000100", WhatsApp wamids,
// base64-ish ids) but never the separator, braces, whitespace or control characters.
const PART = /^[A-Za-z0-9._=+/@-]{1,200}$/;

function key(tenantId: string, type: string, parts: readonly string[]): string {
  assertTenantId(tenantId);
  if (parts.length === 0) throw new ValidationError(`a ${type} key needs a discriminator`);
  for (const part of parts) {
    if (typeof part !== 'string' || !PART.test(part)) {
      throw new ValidationError(
        `${type} key discriminator part ${JSON.stringify(part)} is empty or holds a character that would break the key's shape`,
      );
    }
  }
  // The tenant id in braces is a Redis Cluster hash tag: one tenant's keys share a slot, so a Lua script may
  // touch several of them.
  return `{${tenantId}}:${type}:${parts.join(':')}`;
}

/** The token bucket of one tenant's channel: `{tenant}:ratelimit:<channel>:<channelId>`. */
export function rateLimitKey(tenantId: string, channel: string, channelId: string): string {
  return key(tenantId, 'ratelimit', [channel, channelId]);
}

/** A guard for one side effect (a delivery): `{tenant}:idempotency:<scope>:<id>`. */
export function idempotencyKey(tenantId: string, scope: string, id: string): string {
  return key(tenantId, 'idempotency', [scope, id]);
}

/** A conversation's session window: `{tenant}:session:<conversationId>`. */
export function sessionKey(tenantId: string, conversationId: string): string {
  return key(tenantId, 'session', [conversationId]);
}

/** A thread the agent is engaged in: `{tenant}:engaged:<channel>:<channelId>:<threadId>`. */
export function engagedThreadKey(
  tenantId: string,
  channel: string,
  channelId: string,
  threadId: string,
): string {
  return key(tenantId, 'engaged', [channel, channelId, threadId]);
}

/** That a person was already told they are rate limited in this window: `{tenant}:ratenotice:<channel>:<sender>`. */
export function rateNoticeKey(tenantId: string, channel: string, senderId: string): string {
  return key(tenantId, 'ratenotice', [channel, senderId]);
}
