import { fixture } from '@konstruct/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const FIXTURES = {
  slack: [
    'app_mention',
    'message_im',
    'message_in_thread',
    'file_share',
    'message_changed',
    'url_verification',
  ].map((name) => fixture(`slack/${name}.json`)),
  whatsapp: ['text', 'image', 'reply_with_context', 'statuses'].map((name) =>
    fixture(`whatsapp/${name}.json`),
  ),
};

/** Replaces the value at a path (chosen by indexes into each level's keys) with `value`. */
function mutate(base: unknown, path: number[], value: unknown): unknown {
  const copy = structuredClone(base) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (let i = 0; i < path.length; i++) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[path[i]! % keys.length]!;
    const child = node[key];
    if (i === path.length - 1 || typeof child !== 'object' || child === null) {
      node[key] = value;
      break;
    }
    node = child as Record<string, unknown>;
  }
  return copy;
}

/** Random bodies: arbitrary strings, arbitrary JSON, and fixtures with one value anywhere replaced by junk. */
function bodies(kind: 'slack' | 'whatsapp') {
  return fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
    fc
      .record({
        base: fc.constantFrom(...FIXTURES[kind]),
        path: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        value: fc.jsonValue(),
      })
      .map(({ base, path, value }) => JSON.stringify(mutate(base, path, value))),
  );
}

// Statuses a random body may earn: refused (400/401), or accepted (200: stored, dropped or unrouted).
const ALLOWED = new Set([200, 400, 401]);

describe('random bodies, signed and unsigned, never see a 5xx or crash the gateway', () => {
  for (const kind of ['slack', 'whatsapp'] as const) {
    it(`POST ${kind}`, async () => {
      const seen = new Set<number>();
      await fc.assert(
        fc.asyncProperty(bodies(kind), fc.boolean(), async (body, signed) => {
          const res =
            kind === 'slack'
              ? await h.slack(body, signed ? {} : { secret: 'wrong-secret' })
              : await h.whatsapp(body, signed ? {} : { secret: 'wrong-secret' });
          await res.arrayBuffer();
          seen.add(res.status);
          expect(ALLOWED.has(res.status), `status ${res.status} for ${body.slice(0, 200)}`).toBe(true);
          if (!signed) expect(res.status).toBe(401);
        }),
        { numRuns: 300 },
      );
      // the generator reaches past the signature into the parsers, not just the 401 wall
      expect(seen.has(400)).toBe(true);
      expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    });
  }
});
