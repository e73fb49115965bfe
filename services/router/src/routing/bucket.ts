import { createHash } from 'node:crypto';
import { UnavailableError } from '@konstruct/core';
import { idempotencyKey, rateLimitKey, rateNoticeKey } from '@konstruct/names';
import type { Redis } from 'ioredis';
import type { RateVerdict } from './decide.ts';

/**
 * One round trip does the whole rate decision for one message, atomically:
 *
 * 1. If this message (by event id) was already metered, return that verdict again: a redelivered message
 *    takes no second token and cannot flip from allowed to limited.
 * 2. Refill the bucket continuously at `capacity / window` tokens per ms since its last update, up to
 *    `capacity`, and take one token if there is a whole one.
 * 3. When there is none, tell the person at most once per window: the notice key holds the time until
 *    which they have been told; whoever finds it absent or past claims it and sets `notified`.
 * 4. Remember the verdict for the event id for `memo` ms.
 *
 * Time is the caller's `now`, not Redis `TIME`: tests drive refill with an injected clock, and every
 * time-dependent value (bucket refill, notice window) follows the same clock. Routers on different hosts
 * differ by their NTP skew, milliseconds against a 60 s window; a clock behind the bucket's last update
 * refills nothing rather than going negative. The PEXPIREs only clean up idle keys: an expired bucket is a
 * full one, which is exactly what a bucket idle for a whole window holds.
 *
 * KEYS: bucket, memo, notice. ARGV: capacity, windowMs, nowMs, memoTtlMs.
 * Returns { allowed 0|1, notified 0|1, whole tokens left, retryAfterMs, replayed 0|1 }.
 */
export const TAKE_TOKEN_LUA = `
local capacity = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local memoTtl = tonumber(ARGV[4])

local memo = redis.call('GET', KEYS[2])
if memo then
  local a, n, left, retry = string.match(memo, '^(%d):(%d):(%d+):(%d+)$')
  if a then
    return { tonumber(a), tonumber(n), tonumber(left), tonumber(retry), 1 }
  end
end

local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * capacity / window)
  ts = now
end
-- a lowered per-tenant limit applies at once
if tokens > capacity then tokens = capacity end

local allowed, notified, retry = 0, 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) * window / capacity)
  local toldUntil = tonumber(redis.call('GET', KEYS[3]))
  if toldUntil == nil or toldUntil <= now then
    redis.call('SET', KEYS[3], tostring(now + window), 'PX', window)
    notified = 1
  end
end

redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], window)
local left = math.floor(tokens)
redis.call('SET', KEYS[2], allowed .. ':' .. notified .. ':' .. left .. ':' .. retry, 'PX', memoTtl)
return { allowed, notified, left, retry, 0 }
`;

/** One message to meter. */
export interface TakeTokenInput {
  tenantId: string;
  channel: string;
  /** The bucket is per tenant per channel id (a Slack channel, a WhatsApp customer's chat). */
  channelId: string;
  /** Who is told, once per window, that they are rate limited. */
  senderId: string;
  /** The inbound event's id: the same message is metered once. */
  eventId: string;
  /** Messages per window. */
  limit: number;
  windowMs: number;
  /** Milliseconds since the epoch, from the injected clock. */
  now: number;
}

/** The bucket's verdict, with what the caller may want to log. */
export type TakeTokenResult = RateVerdict & {
  /** Whole tokens left after this message. */
  remaining: number;
  /** The verdict was remembered from an earlier delivery of the same message. */
  replayed: boolean;
};

/** Takes tokens from the per-channel buckets in Redis. */
export interface RateLimiter {
  take(input: TakeTokenInput): Promise<TakeTokenResult>;
}

type TakeCommand = (
  bucket: string,
  memo: string,
  notice: string,
  capacity: number,
  windowMs: number,
  now: number,
  memoTtlMs: number,
) => Promise<[number, number, number, number, number]>;

const COMMAND = 'konstructRouterTakeToken';

// Redis key discriminators allow a restricted alphabet; event ids are ours or the gateway's, and may hold ':'.
const KEY_SAFE = /^[A-Za-z0-9._=+/@-]{1,200}$/;

/** The key-safe form of an event id: itself when it fits a key part, else its SHA-256. */
export function eventKeyPart(eventId: string): string {
  return KEY_SAFE.test(eventId) ? eventId : createHash('sha256').update(eventId).digest('hex');
}

/**
 * Creates the rate limiter on a Redis connection: the Lua script is registered with `defineCommand`, so it
 * runs by EVALSHA (falling back to EVAL once after a script flush). Every key comes from the libs/names
 * builders and carries the tenant's hash tag, so one script touching three keys stays on one slot.
 * `memoTtlMs` is how long a message's verdict is remembered for redeliveries.
 */
export function createRateLimiter(redis: Redis, { memoTtlMs }: { memoTtlMs: number }): RateLimiter {
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 3, lua: TAKE_TOKEN_LUA });
  const run = (redis as unknown as Record<typeof COMMAND, TakeCommand>)[COMMAND].bind(redis);
  return {
    async take(input) {
      const { tenantId, channel, channelId, senderId, eventId, limit, windowMs, now } = input;
      let reply: [number, number, number, number, number];
      try {
        reply = await run(
          rateLimitKey(tenantId, channel, channelId),
          idempotencyKey(tenantId, 'ratelimit', eventKeyPart(eventId)),
          rateNoticeKey(tenantId, channel, senderId),
          limit,
          windowMs,
          Math.floor(now),
          memoTtlMs,
        );
      } catch (error) {
        throw new UnavailableError(`rate limiter in Redis failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const [allowed, notified, remaining, retryAfterMs, replayed] = reply;
      if (allowed === 1) return { allowed: true, remaining, replayed: replayed === 1 };
      return {
        allowed: false,
        notified: notified === 1,
        retryAfterMs,
        limit,
        windowMs,
        remaining,
        replayed: replayed === 1,
      };
    },
  };
}
