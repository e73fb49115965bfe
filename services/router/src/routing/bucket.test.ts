import { randomUUID } from 'node:crypto';
import { rateLimitKey } from '@konstruct/names';
import { randomPrefix } from '@konstruct/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimiter, type RateLimiter, type TakeTokenInput } from './bucket.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = randomPrefix('ktrouter');
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
let redis: Redis;
let raw: Redis;
let limiter: RateLimiter;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { keyPrefix: prefix });
  raw = new Redis(REDIS_URL);
  limiter = createRateLimiter(redis, { memoTtlMs: 60_000 });
});

afterAll(async () => {
  const keys = await raw.keys(`${prefix}*`);
  if (keys.length > 0) await raw.del(...keys);
  await redis.quit();
  await raw.quit();
});

// every test meters a channel of its own
function meter(overrides: Partial<TakeTokenInput> = {}) {
  const base: TakeTokenInput = {
    tenantId: randomUUID(),
    channel: 'slack',
    channelId: `C${randomUUID().slice(0, 8).toUpperCase()}`,
    senderId: 'U0HUMAN001',
    eventId: randomUUID(),
    limit: 30,
    windowMs: 60_000,
    now: T0,
  };
  const fixed = { ...base, ...overrides };
  return (changes: Partial<TakeTokenInput> = {}) =>
    limiter.take({ ...fixed, eventId: randomUUID(), ...changes });
}

describe('token bucket (Lua, one round trip)', () => {
  it('lets 30 through in a window, refuses the 31st, and says when a token is back', async () => {
    const take = meter();
    for (let i = 0; i < 30; i++) expect((await take()).allowed).toBe(true);
    const refused = await take();
    expect(refused).toMatchObject({ allowed: false, remaining: 0, replayed: false });
    // 30 per 60 s refills one token every 2 s
    expect(refused.allowed === false && refused.retryAfterMs).toBe(2_000);
  });

  it('refills continuously with the injected clock, never beyond the limit', async () => {
    const take = meter({ limit: 3, windowMs: 3_000 });
    for (let i = 0; i < 3; i++) await take();
    expect((await take({ now: T0 + 999 })).allowed).toBe(false);
    expect((await take({ now: T0 + 1_000 })).allowed).toBe(true);
    expect((await take({ now: T0 + 1_000 })).allowed).toBe(false);
    // an hour idle fills the bucket to 3, not to 1,200
    const afterIdle = [];
    for (let i = 0; i < 4; i++) afterIdle.push((await take({ now: T0 + 3_600_000 })).allowed);
    expect(afterIdle).toEqual([true, true, true, false]);
  });

  it('a clock behind the last update refills nothing', async () => {
    const take = meter({ limit: 2, windowMs: 2_000 });
    await take();
    await take();
    expect((await take({ now: T0 - 10_000 })).allowed).toBe(false);
  });

  it('tells the person once per window: only the first refusal is notified, the next window again', async () => {
    const take = meter({ limit: 1, windowMs: 10_000 });
    await take();
    const refusals = [];
    for (let i = 0; i < 3; i++) refusals.push(await take({ now: T0 + i }));
    expect(refusals.map((r) => r.allowed === false && r.notified)).toEqual([true, false, false]);
    // a window later the bucket has a token again; spend it, and the next refusal tells them again
    expect((await take({ now: T0 + 10_000 })).allowed).toBe(true);
    const next = await take({ now: T0 + 10_001 });
    expect(next.allowed === false && next.notified).toBe(true);
  });

  it('the notice is per person: a second sender in the same channel is told too', async () => {
    const take = meter({ limit: 1 });
    await take();
    const first = await take({ senderId: 'U0HUMAN001' });
    const second = await take({ senderId: 'U0HUMAN002' });
    expect(first.allowed === false && first.notified).toBe(true);
    expect(second.allowed === false && second.notified).toBe(true);
  });

  it('the same message metered twice takes one token and gets the same verdict', async () => {
    const tenantId = randomUUID();
    const input: TakeTokenInput = {
      tenantId,
      channel: 'slack',
      channelId: 'C0GENERAL1',
      senderId: 'U0HUMAN001',
      eventId: 'slack:T0ACME0001:Ev0APPMENTION1',
      limit: 2,
      windowMs: 60_000,
      now: T0,
    };
    const first = await limiter.take(input);
    const again = await limiter.take({ ...input, now: T0 + 5 });
    expect(first).toMatchObject({ allowed: true, remaining: 1, replayed: false });
    expect(again).toMatchObject({ allowed: true, remaining: 1, replayed: true });
    const tokens = Number(await redis.hget(rateLimitKey(tenantId, 'slack', 'C0GENERAL1'), 'tokens'));
    expect(tokens).toBe(1);

    // and a refused message stays refused, without telling the person a second time
    await limiter.take({ ...input, eventId: 'second' });
    const refused = await limiter.take({ ...input, eventId: 'third' });
    const refusedAgain = await limiter.take({ ...input, eventId: 'third', now: T0 + 120_000 });
    expect(refused).toMatchObject({ allowed: false, notified: true, replayed: false });
    expect(refusedAgain).toMatchObject({ allowed: false, notified: true, replayed: true });
  });

  it('keeps tenants apart: one tenant exhausting a channel id leaves another tenant with the same id untouched', async () => {
    const a = meter({ channelId: 'C0SHARED01', limit: 1 });
    const b = meter({ channelId: 'C0SHARED01', limit: 1 });
    expect((await a()).allowed).toBe(true);
    expect((await a()).allowed).toBe(false);
    expect((await b()).allowed).toBe(true);
  });

  it('applies a lowered limit at once', async () => {
    const take = meter({ limit: 10 });
    await take();
    const lowered = [];
    for (let i = 0; i < 3; i++) lowered.push((await take({ limit: 2 })).allowed);
    expect(lowered).toEqual([true, true, false]);
  });

  it('keeps its keys under the tenant hash tag and away from message content', async () => {
    const tenantId = randomUUID();
    await limiter.take({
      tenantId,
      channel: 'whatsapp',
      channelId: '16505551234',
      senderId: '16505551234',
      eventId: 'wa:106540352242922:wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUI=',
      limit: 1,
      windowMs: 60_000,
      now: T0,
    });
    const keys = (await raw.keys(`${prefix}{${tenantId}}:*`)).map((k) => k.slice(prefix.length));
    expect(keys).toHaveLength(2);
    expect(keys).toContain(`{${tenantId}}:ratelimit:whatsapp:16505551234`);
    // the event id holds ':' so it is hashed into the key; nothing of the message text is in any key
    expect(keys).toContainEqual(
      expect.stringMatching(new RegExp(`^\\{${tenantId}\\}:idempotency:ratelimit:[0-9a-f]{64}$`)),
    );
  });
});
