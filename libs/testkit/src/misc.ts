import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@konstruct/core';

/** A random key prefix for Redis (`kt:<hex>:`), so test files never share keys. */
export function randomPrefix(kind = 'kt'): string {
  return `${kind}:${randomBytes(5).toString('hex')}:`;
}

/** A logger whose lines are kept in memory, to assert on what was logged. */
export function captureLogs(
  service = 'test',
  level = 'debug',
): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ service, level: level as 'debug', destination }), lines };
}
