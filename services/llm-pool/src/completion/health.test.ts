import { describe, expect, it } from 'vitest';
import {
  afterFailure,
  afterSuccess,
  HEALTHY,
  isAvailable,
  type ProviderHealth,
  reportHealth,
} from './health.ts';

const policy = { failuresBeforeCooldown: 3, cooldownMs: 30_000 };
const refused = {
  kind: 'unreachable' as const,
  message: 'unreachable at http://127.0.0.1:11434 (ECONNREFUSED)',
};
const T0 = Date.UTC(2026, 0, 1);

function failTimes(n: number, start: ProviderHealth = HEALTHY, at = T0): ProviderHealth {
  let health = start;
  for (let i = 0; i < n; i++) health = afterFailure(health, refused, at, policy);
  return health;
}

describe('provider cool-down', () => {
  it('keeps a provider available below the failure limit', () => {
    const health = failTimes(2);
    expect(isAvailable(health, T0)).toBe(true);
    expect(reportHealth(health, T0)).toMatchObject({ state: 'failing', consecutiveFailures: 2 });
  });

  it('skips a provider for the cool-down window once it fails the limit in a row', () => {
    const health = failTimes(3);
    expect(isAvailable(health, T0)).toBe(false);
    expect(isAvailable(health, T0 + 29_999)).toBe(false);
    expect(isAvailable(health, T0 + 30_000)).toBe(true);
    expect(reportHealth(health, T0 + 1)).toEqual({
      state: 'cooling_down',
      consecutiveFailures: 3,
      coolingDownUntil: new Date(T0 + 30_000).toISOString(),
      lastError: refused.message,
      lastErrorAt: new Date(T0).toISOString(),
    });
  });

  it('a success in between resets the count, so failures must be in a row', () => {
    const health = failTimes(1, afterSuccess(failTimes(2)));
    expect(health.consecutiveFailures).toBe(1);
    expect(isAvailable(health, T0)).toBe(true);
  });

  it('after the window one probe failure starts a new window at once', () => {
    const cooled = failTimes(3);
    const probe = afterFailure(cooled, refused, T0 + 30_000, policy);
    expect(isAvailable(probe, T0 + 30_001)).toBe(false);
    expect(probe.coolingUntil).toBe(T0 + 60_000);
  });

  it('after the window one probe success makes the provider healthy', () => {
    const healed = afterSuccess(failTimes(3));
    expect(isAvailable(healed, T0)).toBe(true);
    expect(reportHealth(healed, T0)).toEqual({ state: 'healthy', consecutiveFailures: 0 });
  });
});
