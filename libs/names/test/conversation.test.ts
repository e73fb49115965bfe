import { describe, expect, it } from 'vitest';
import { conversationId, sessionKey } from '../src/index.ts';

const tenant = '0b6f3c1e-7a44-4f0e-9d1a-2b3c4d5e6f70';
const slack = {
  channel: 'slack',
  workspaceId: 'T0ACME0001',
  channelId: 'C0GENERAL1',
  threadId: '1764151200.000100',
};

describe('conversationId', () => {
  it('is readable for platform ids and the same for every message of a thread', () => {
    expect(conversationId(slack)).toBe('slack/T0ACME0001/C0GENERAL1/1764151200.000100');
    expect(conversationId({ ...slack })).toBe(conversationId(slack));
  });

  it('tells threads, channels, workspaces and platforms apart', () => {
    const ids = new Set([
      conversationId(slack),
      conversationId({ ...slack, threadId: '1764151260.000200' }),
      conversationId({ ...slack, channelId: 'C0RANDOM01' }),
      conversationId({ ...slack, workspaceId: 'T0OTHER001' }),
      conversationId({ ...slack, channel: 'whatsapp' }),
    ]);
    expect(ids.size).toBe(5);
  });

  it('falls back to a stable hash for parts a key cannot hold, and the result always fits a session key', () => {
    const odd = { ...slack, channelId: 'a:b c/d' };
    expect(conversationId(odd)).toMatch(/^h\/[0-9a-f]{64}$/);
    expect(conversationId(odd)).toBe(conversationId({ ...odd }));
    expect(conversationId(odd)).not.toBe(conversationId({ ...slack, channelId: 'a:b c/e' }));
    expect(() => sessionKey(tenant, conversationId(odd))).not.toThrow();
    expect(() => sessionKey(tenant, conversationId({ ...slack, threadId: 'x'.repeat(300) }))).not.toThrow();
  });
});
