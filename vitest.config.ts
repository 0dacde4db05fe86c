import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // Handler logs would drown the test output; tests assert on outcomes, not logs.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
  },
});
