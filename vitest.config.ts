import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: true,
    // Three on two cores: much of an e2e test waits (sandbox services, timers, child processes), so a third
    // file overlaps those waits; measured 288 s against 310 s for the tests with two.
    maxWorkers: 3,
    // Handler logs would drown the test output; tests assert on outcomes, not logs.
    // Retries keep their errors and attempts but wait 100 ms, not AWS-sized backoffs (local/state-machine-runner.ts).
    // The scripted operator's moment to read before deciding: 100 ms, not a person's second.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', FLEET_UPGRADE_RETRY_INTERVAL_MS: '100', FLEET_UPGRADE_OPERATOR_PAUSE_MS: '100' },
  },
});
