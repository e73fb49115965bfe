import { sessionKey } from '@konstruct/names';
import type { Redis } from 'ioredis';
import { SessionTurn } from './prompt.ts';

// Stores a reply's outcome once and, in the same step, appends its turn to the session window: a redelivered
// routed message then finds the outcome (and re-publishes it) instead of asking the model again or adding the
// turn twice. Both keys carry the tenant's hash tag, so the script is valid on a Redis Cluster too.
// KEYS[1] outcome, KEYS[2] session list; ARGV[1] outcome, ARGV[2] outcome TTL ms, ARGV[3] window size,
// ARGV[4] session TTL ms, ARGV[5..] turns to append (JSON), oldest first.
const COMMIT_SCRIPT = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if #ARGV >= 5 then
  for i = 5, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return ARGV[1]
`;

/** Options for {@link createSessionStore}. */
export interface SessionStoreOptions {
  redis: Redis;
  /** How many messages (both sides) the window keeps. @default 20 */
  windowMessages?: number;
  /** How long a quiet conversation keeps its window. @default 7 days */
  sessionTtlMs?: number;
  /** How long an outcome is remembered; at least the stream's duplicate window. */
  outcomeTtlMs: number;
}

/** The session window of each conversation and the once-only outcome of each routed message. */
export interface SessionStore {
  /** The last messages of one tenant's conversation, oldest first; unreadable entries are skipped. */
  window(tenantId: string, conversationId: string): Promise<SessionTurn[]>;
  /** The outcome stored under `outcomeKey`, if any. */
  recall(outcomeKey: string): Promise<string | undefined>;
  /**
   * Stores `outcome` under `outcomeKey` unless one is there, appending `turns` to the window only when it
   * stored; returns the outcome that counts (an earlier one wins).
   */
  commit(input: {
    outcomeKey: string;
    outcome: string;
    tenantId: string;
    conversationId: string;
    turns: readonly SessionTurn[];
  }): Promise<string>;
}

/** Creates the Redis-backed {@link SessionStore}. Keys come from {@link sessionKey}. */
export function createSessionStore({
  redis,
  windowMessages = 20,
  sessionTtlMs = 7 * 24 * 3_600_000,
  outcomeTtlMs,
}: SessionStoreOptions): SessionStore {
  return {
    async window(tenantId, conversationId) {
      const raw = await redis.lrange(sessionKey(tenantId, conversationId), -windowMessages, -1);
      const turns: SessionTurn[] = [];
      for (const entry of raw) {
        try {
          const parsed = SessionTurn.safeParse(JSON.parse(entry));
          if (parsed.success) turns.push(parsed.data);
        } catch {
          // a corrupt entry costs one turn of context, not the answer
        }
      }
      return turns;
    },
    async recall(outcomeKey) {
      return (await redis.get(outcomeKey)) ?? undefined;
    },
    async commit({ outcomeKey, outcome, tenantId, conversationId, turns }) {
      const result = await redis.eval(
        COMMIT_SCRIPT,
        2,
        outcomeKey,
        sessionKey(tenantId, conversationId),
        outcome,
        String(outcomeTtlMs),
        String(windowMessages),
        String(sessionTtlMs),
        ...turns.map((turn) => JSON.stringify(turn)),
      );
      return String(result);
    },
  };
}
