import { manualClock, UnavailableError } from '@konstruct/core';
import { describe, expect, it } from 'vitest';
import { createConnectionCache, type ResolveConnection } from './connections.ts';

const found = {
  tenantId: '7d3c1d0e-4a52-4a7e-9a53-2f0d6f1b9c11',
  connectionId: 'c',
  enabled: true,
  settings: {},
  credentials: {},
};

function counting(answer: (id: string) => ReturnType<ResolveConnection>) {
  const calls: string[] = [];
  const resolve: ResolveConnection = (_channel, id) => {
    calls.push(id);
    return answer(id);
  };
  return { resolve, calls };
}

describe('connection cache', () => {
  it('asks the database once per workspace within the TTL, again after it', async () => {
    const clock = manualClock();
    const { resolve, calls } = counting(async () => found);
    const cache = createConnectionCache({ resolve, clock, ttlMs: 30_000 });
    await cache.get('slack', 'T1');
    clock.advance(29_000);
    expect(await cache.get('slack', 'T1')).toMatchObject({ tenantId: found.tenantId, workspaceId: 'T1' });
    expect(calls).toEqual(['T1']);
    clock.advance(2_000);
    await cache.get('slack', 'T1');
    expect(calls).toEqual(['T1', 'T1']);
  });

  it('remembers an unknown workspace for the shorter miss TTL, so a new connection routes soon', async () => {
    const clock = manualClock();
    const { resolve, calls } = counting(async () => undefined);
    const cache = createConnectionCache({ resolve, clock, missTtlMs: 5_000 });
    expect(await cache.get('slack', 'T2')).toBeUndefined();
    clock.advance(4_000);
    await cache.get('slack', 'T2');
    expect(calls).toHaveLength(1);
    clock.advance(2_000);
    await cache.get('slack', 'T2');
    expect(calls).toHaveLength(2);
  });

  it('shares one lookup between concurrent requests for the same workspace', async () => {
    const { resolve, calls } = counting(async () => found);
    const cache = createConnectionCache({ resolve, clock: manualClock() });
    await Promise.all([cache.get('whatsapp', '1'), cache.get('whatsapp', '1'), cache.get('whatsapp', '1')]);
    expect(calls).toEqual(['1']);
  });

  it('a failed lookup is UnavailableError (a 503) and is not cached', async () => {
    let fail = true;
    const { resolve, calls } = counting(async () => {
      if (fail) throw new Error('connection refused');
      return found;
    });
    const cache = createConnectionCache({ resolve, clock: manualClock() });
    await expect(cache.get('slack', 'T3')).rejects.toBeInstanceOf(UnavailableError);
    fail = false;
    expect(await cache.get('slack', 'T3')).toBeDefined();
    expect(calls).toHaveLength(2);
  });

  it('first() returns the first connected of several candidate workspaces', async () => {
    const { resolve } = counting(async (id) => (id === 'E1' ? found : undefined));
    const cache = createConnectionCache({ resolve, clock: manualClock() });
    expect(await cache.first('slack', ['T9', 'E1', 'T8'])).toMatchObject({ workspaceId: 'E1' });
  });
});
