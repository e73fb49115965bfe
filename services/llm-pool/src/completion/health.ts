/**
 * The cool-down state machine of one provider, as pure functions of (state, input, now). A provider that
 * fails `failuresBeforeCooldown` times in a row is skipped until `now + cooldownMs`, so callers stop paying
 * its timeout on every message. When the window ends the next call is a probe: one more failure starts a
 * new window at once (the count is not reset), one success makes it healthy again.
 */

/** Why a provider call failed, in a few stable kinds. */
export type FailureKind = 'unreachable' | 'timeout' | 'http' | 'bad_response';

/** What the pool remembers about one provider. */
export interface ProviderHealth {
  /** Failures since the last success. */
  readonly consecutiveFailures: number;
  /** Epoch milliseconds until which the provider is skipped; undefined when it is not cooling down. */
  readonly coolingUntil: number | undefined;
  /** The last failure, for `/healthz` and for the "start Ollama" hint. */
  readonly lastFailure: { kind: FailureKind; message: string; at: number } | undefined;
}

/** When a provider is put to cool down, and for how long. */
export interface CooldownPolicy {
  failuresBeforeCooldown: number;
  cooldownMs: number;
}

/** A provider nobody has seen fail. */
export const HEALTHY: ProviderHealth = {
  consecutiveFailures: 0,
  coolingUntil: undefined,
  lastFailure: undefined,
};

/** True when the provider may be called at `now`; false while it cools down. */
export function isAvailable(health: ProviderHealth, now: number): boolean {
  return health.coolingUntil === undefined || now >= health.coolingUntil;
}

/** The provider answered: forget its failures. */
export function afterSuccess(_health: ProviderHealth): ProviderHealth {
  return HEALTHY;
}

/** The provider failed at `now`: count it, and start a cool-down when the count reaches the policy's limit. */
export function afterFailure(
  health: ProviderHealth,
  failure: { kind: FailureKind; message: string },
  now: number,
  policy: CooldownPolicy,
): ProviderHealth {
  const consecutiveFailures = health.consecutiveFailures + 1;
  const trips = consecutiveFailures >= policy.failuresBeforeCooldown;
  return {
    consecutiveFailures,
    coolingUntil: trips ? now + policy.cooldownMs : health.coolingUntil,
    // fields copied by name: an Error's message is not enumerable, so spreading one would drop it
    lastFailure: { kind: failure.kind, message: failure.message, at: now },
  };
}

/** How `/healthz` shows a provider. */
export interface HealthReport {
  state: 'healthy' | 'failing' | 'cooling_down';
  consecutiveFailures: number;
  /** ISO time the cool-down ends, while cooling down. */
  coolingDownUntil?: string;
  lastError?: string;
  lastErrorAt?: string;
}

/** Describes a provider's health at `now` for operators. */
export function reportHealth(health: ProviderHealth, now: number): HealthReport {
  const report: HealthReport = {
    state: !isAvailable(health, now)
      ? 'cooling_down'
      : health.consecutiveFailures > 0
        ? 'failing'
        : 'healthy',
    consecutiveFailures: health.consecutiveFailures,
  };
  if (report.state === 'cooling_down') report.coolingDownUntil = new Date(health.coolingUntil!).toISOString();
  if (health.lastFailure) {
    report.lastError = health.lastFailure.message;
    report.lastErrorAt = new Date(health.lastFailure.at).toISOString();
  }
  return report;
}
