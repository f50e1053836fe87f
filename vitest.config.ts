import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own database and Redis prefix, so files can run in parallel on 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    // COUNTERSIGN_FROM_SOURCE: the CLI processes tests start run src/ through tsx, not the last build (bin/countersign.js).
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', COUNTERSIGN_FROM_SOURCE: '1' },
  },
});
