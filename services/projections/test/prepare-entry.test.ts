import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/**
 * A replay's worker thread imports `@konstruct/projections/prepare`; loading MikroORM and the Postgres driver
 * there tripled the worker's start (≈ 1 s before the first batch was ready) for code it never runs. This
 * lists every module that entry point loads, in a fresh Node, and holds it to the pure half.
 */
describe('@konstruct/projections/prepare', () => {
  it('loads no database code', async () => {
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
      const prepare = await import('@konstruct/projections/prepare');
      console.log(JSON.stringify({ exports: Object.keys(prepare), loaded }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url),
    });
    const { exports, loaded } = JSON.parse(stdout) as { exports: string[]; loaded: string[] };
    expect(exports).toContain('tenantBatch');
    expect(loaded.some((url) => url.endsWith('/services/projections/src/plan.ts'))).toBe(true);
    expect(
      loaded.filter((url) => /@mikro-orm|\/pg\/|kysely|\/libs\/db\/src\/(index|orm)\.ts/.test(url)),
    ).toEqual([]);
  });
});
