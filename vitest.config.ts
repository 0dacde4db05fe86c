import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: true,
    // Three on two cores: much of an e2e test waits (sandbox services, timers, child processes), so a third
    // file overlaps those waits.
    maxWorkers: 3,
    // Handler logs would drown the test output; tests assert on outcomes, not logs.
    // Retries keep their errors and attempts but wait 100 ms, not AWS-sized backoffs (local/state-machine-runner.ts).
    // The scripted operator's moment to read before deciding: 100 ms, not a person's second.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', FLEET_UPGRADE_RETRY_INTERVAL_MS: '100', FLEET_UPGRADE_OPERATOR_PAUSE_MS: '100' },
    projects: [
      {
        extends: true,
        // Files that need no fresh process run in one module cache per worker: importing the CDK, the SDK and the local
        // engines once per worker, not once per file, is most of their time. The setup file gives each file the
        // process's environment and fresh SDK clients; a file that mocks a client class restores it.
        test: {
          name: 'fast',
          include: ['test/unit/**/*.test.ts', 'test/cdk/**/*.test.ts', 'test/integration/**/*.test.ts'],
          isolate: false,
          setupFiles: ['test/support/shared-process-setup.ts'],
        },
      },
      // End-to-end files start sandboxes, services, child processes and signal handlers: each gets a fresh process.
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});
