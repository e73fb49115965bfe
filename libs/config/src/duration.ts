import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `250ms`, `30s`, `5m`, `24h`, `2d` or a bare number of milliseconds into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? 1);
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

/** A zod schema for a duration setting, yielding milliseconds. */
export const durationMs = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration like 500ms, 30s, 5m, 24h or 2d, got "${text}"`,
    });
    return z.NEVER;
  }
  return ms;
});
