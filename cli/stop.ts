import { DescribeExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { Command } from 'commander';
import { userInfo } from 'node:os';
import { globalFlags, StackClients } from './aws.js';
import { EXIT_OK, EXIT_RUN_FAILED, UsageError } from './errors.js';
import { formatSummary } from './format-summary.js';

export function stopCommand(): Command {
  return new Command('stop')
    .description(
      'Stop a run (StopExecution). The stack then turns maintenance mode off and releases the cluster lock; a step already running on a node finishes first.',
    )
    .argument('<run>', 'run id (execution name) or execution ARN')
    .option('--reason <text>', "why (recorded as the execution's cause)")
    .option('--no-wait', 'return at once instead of waiting for maintenance mode off and the lock released')
    .option('--timeout <seconds>', 'how long to wait for the clean-up', (v) => Number(v), 600)
    .option('--json', "print the run's summary as JSON")
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  fleet-upgrade stop prod-als-3.2.0-20261124T1030 --reason "wrong version"',
        '',
        'Exit codes: 0 stopped and cleaned up, 1 the clean-up did not finish in time, 2 bad usage (e.g. the run is not running).',
      ].join('\n'),
    )
    .action(async (run: string, flags: { reason?: string; wait: boolean; timeout: number; json?: boolean }, command: Command) => {
      const clients = new StackClients(globalFlags(command));
      try {
        const executionArn = await clients.executionArn(run);
        const described = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (described.status !== 'RUNNING')
          throw new UsageError(`run ${described.name ?? run} is not running (it is ${described.status ?? 'unknown'}); nothing to stop`);
        const cause = `stopped by ${userInfo().username} with fleet-upgrade stop${flags.reason ? `: ${flags.reason}` : ''}`.slice(0, 32_000);
        await clients.sfn.send(new StopExecutionCommand({ executionArn, error: 'StoppedByOperator', cause }));
        if (!flags.json) process.stdout.write(`Stopped run ${described.name ?? run}. Waiting for maintenance mode off and the cluster lock released…\n`);
        if (!flags.wait) {
          process.exitCode = EXIT_OK;
          return;
        }
        const cluster = (JSON.parse(described.input ?? '{}') as { cluster?: string }).cluster ?? '';
        const store = await clients.store();
        const deadline = Date.now() + flags.timeout * 1000;
        for (;;) {
          const record = await store.getRunRecord(cluster, described.name ?? run);
          const lock = await store.getLock(cluster);
          const lockedByRun = lock !== null && lock.runId === described.name;
          if (record?.summary !== undefined && !lockedByRun) {
            if (flags.json) process.stdout.write(`${JSON.stringify(record.summary, null, 2)}\n`);
            else process.stdout.write(`${formatSummary(record.summary)}\n`);
            process.exitCode = EXIT_OK;
            return;
          }
          if (record === null && !lockedByRun && Date.now() > deadline - flags.timeout * 1000 + 5000) {
            // The run was stopped before it was planned: nothing was touched.
            if (!flags.json) process.stdout.write('The run was stopped before it touched any node; the cluster is not locked.\n');
            process.exitCode = EXIT_OK;
            return;
          }
          if (Date.now() >= deadline) {
            process.stderr.write(
              `fleet-upgrade: the clean-up of ${described.name ?? run} did not finish in ${flags.timeout} s: check the cleanup state machine's ` +
                `execution named ${described.name ?? run} and the clean-up-run function's logs; \`fleet-upgrade status ${described.name ?? run}\`\n`,
            );
            process.exitCode = EXIT_RUN_FAILED;
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      } finally {
        clients.destroy();
      }
    });
}
