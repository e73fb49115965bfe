import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['libs/*/{src,test}/**/*.test.ts', 'services/*/{src,test}/**/*.test.ts', 'test/**/*.test.ts'],
    // integration tests talk to real Postgres, NATS and Redis; each file has its own database, streams and
    // key prefix, so files run in parallel
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
