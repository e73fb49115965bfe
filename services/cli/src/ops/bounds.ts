import { parseDuration } from '@konstruct/config';
import { ValidationError } from '@konstruct/core';
import { z } from 'zod';

/** Where a read of the stream starts: a stream sequence, a time, or the beginning. */
export type StartAt = { kind: 'all' } | { kind: 'seq'; seq: number } | { kind: 'time'; at: Date };

/** Where a read of the stream ends: a stream sequence, a time, or whatever is stored when it starts. */
export type EndAt = { kind: 'now' } | { kind: 'seq'; seq: number } | { kind: 'time'; at: Date };

const isoTime = z.iso.datetime({ offset: true });
const isoDate = z.iso.date();
const sequence = z
  .string()
  .regex(/^\d+$/)
  .transform(Number)
  .pipe(
    z
      .number()
      .int()
      .positive()
      .max(2 ** 53),
  );

/**
 * Parses a time bound as the CLI accepts it: ISO 8601 (`2026-11-26T10:00:00Z`, `2026-11-26`) or a span back
 * from `now` (`90s`, `15m`, `2h`, `7d`). Pure: the clock's reading is passed in.
 */
export function parseTime(option: string, text: string, now: number): Date {
  const trimmed = text.trim();
  if (isoTime.safeParse(trimmed).success || isoDate.safeParse(trimmed).success) {
    const at = new Date(trimmed);
    if (!Number.isNaN(at.getTime())) return at;
  }
  const ago = /^\d/.test(trimmed) && /[a-z]$/.test(trimmed) ? parseDuration(trimmed) : undefined;
  if (ago !== undefined && ago > 0) return new Date(now - ago);
  throw new ValidationError(
    `${option}: expected an ISO 8601 time (2026-11-26T10:00:00Z) or a span like 15m, 2h, 7d; got "${text}"`,
  );
}

/** Parses a stream sequence option: a whole number from 1. */
export function parseSequence(option: string, text: string): number {
  const parsed = sequence.safeParse(text.trim());
  if (!parsed.success)
    throw new ValidationError(`${option}: expected a stream sequence (1, 2, …), got "${text}"`);
  return parsed.data;
}

/** Options naming a start: `--since TIME` or `--from-seq N`, never both. */
export interface StartOptions {
  since?: string;
  fromSeq?: string;
}

/** Options naming an end: `--until TIME` or `--until-seq N`, never both. */
export interface EndOptions {
  until?: string;
  untilSeq?: string;
}

/** Reads `--since`/`--from-seq` into a {@link StartAt}, refusing both at once. */
export function startFrom({ since, fromSeq }: StartOptions, now: number): StartAt {
  if (since !== undefined && fromSeq !== undefined) {
    throw new ValidationError('give --since or --from-seq, not both');
  }
  if (since !== undefined) return { kind: 'time', at: parseTime('--since', since, now) };
  if (fromSeq !== undefined) return { kind: 'seq', seq: parseSequence('--from-seq', fromSeq) };
  return { kind: 'all' };
}

/** Reads `--until`/`--until-seq` into an {@link EndAt}, refusing both at once or an end before the start. */
export function endAt({ until, untilSeq }: EndOptions, start: StartAt, now: number): EndAt {
  if (until !== undefined && untilSeq !== undefined) {
    throw new ValidationError('give --until or --until-seq, not both');
  }
  const end: EndAt =
    until !== undefined
      ? { kind: 'time', at: parseTime('--until', until, now) }
      : untilSeq !== undefined
        ? { kind: 'seq', seq: parseSequence('--until-seq', untilSeq) }
        : { kind: 'now' };
  if (end.kind === 'seq' && start.kind === 'seq' && end.seq < start.seq) {
    throw new ValidationError(`--until-seq ${end.seq} is before --from-seq ${start.seq}`);
  }
  if (end.kind === 'time' && start.kind === 'time' && end.at < start.at) {
    throw new ValidationError(`--until ${end.at.toISOString()} is before --since ${start.at.toISOString()}`);
  }
  return end;
}
