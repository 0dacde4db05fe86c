import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Command } from 'commander';
import { RUN_ID_PATTERN } from '../core/run-context.js';
import { globalFlags, StackClients } from './aws.js';
import { EXIT_OK, UsageError } from './errors.js';
import { addInputOptions, buildInput, type InputFlags } from './input-flags.js';
import { watchRun } from './watch.js';
import { refuseOversizedInput } from './run-fits.js';

/** A readable run id, one per cluster, version and minute: `prod-als-3.2.0-20261124T1030`. */
export function readableRunId(cluster: string, version: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 13);
  return `${cluster}-${version}-${stamp}`.slice(0, 80);
}

export function startCommand(): Command {
  return addInputOptions(new Command('start'))
    .description('Start an upgrade run (StartExecution). Idempotent per --run-id: starting the same run again returns it.')
    .option('--run-id <id>', 'the run id (execution name); default <cluster>-<version>-<YYYYMMDDTHHMM>')
    .option('--dry-run', 'only plan: the run returns the plan and touches nothing')
    .option('--watch', 'follow the run until it ends (like `fleet-upgrade watch`)')
    .option('--json', 'print {runId, executionArn, startDate, consoleUrl} as JSON')
    .addHelpText(
      'after',
      `
Examples:
  fleet-upgrade start --cluster prod-als.json --target-version 3.2.0
  fleet-upgrade start --input upgrade.json --run-id prod-als-3.2.0-weekend --watch
  fleet-upgrade start --cluster prod-als.json --target-version 3.2.0 --on-failure rollback-and-continue --max-failed-nodes 2
  fleet-upgrade start --cluster prod-als.json --target-version 3.2.0 --not-after 2026-12-06T06:00:00Z
  fleet-upgrade start --cluster prod-als.json --target-version 3.2.0 --resume-from prod-als-3.2.0-20261205T2200 --not-after +4h
  fleet-upgrade --endpoint http://127.0.0.1:4599 start --cluster examples/demo-cluster.json --target-version 3.1.0

Exit codes: 0 started (with --watch: the run succeeded), 1 the run failed, 2 bad input (nothing started).`,
    )
    .action(async (flags: InputFlags & { runId?: string; watch?: boolean; json?: boolean }, command: Command) => {
      const { raw, input } = await buildInput(flags);
      const runId = flags.runId ?? readableRunId(input.cluster, input.targetVersion);
      if (!RUN_ID_PATTERN.test(runId))
        throw new UsageError(`--run-id: expected letters, digits, ".", "-" or "_" (at most 80 characters), got ${JSON.stringify(runId)}`);
      refuseOversizedInput(input, runId);
      const clients = new StackClients(globalFlags(command));
      try {
        const stateMachineArn = await clients.stateMachineArn();
        let executionArn: string;
        let startDate: Date | undefined;
        try {
          // Same name and same input: Step Functions returns the running execution instead of starting another.
          const out = await clients.sfn.send(new StartExecutionCommand({ stateMachineArn, name: runId, input: JSON.stringify(raw) }));
          executionArn = out.executionArn ?? '';
          startDate = out.startDate;
        } catch (error) {
          if (error instanceof ExecutionAlreadyExists) {
            throw new UsageError(`run ${runId} already exists with another input or has ended: choose another --run-id, or \`fleet-upgrade status ${runId}\``);
          }
          throw error;
        }
        if (flags.json) {
          if (!flags.watch)
            process.stdout.write(
              `${JSON.stringify({ runId, executionArn, startDate: startDate?.toISOString(), consoleUrl: clients.consoleUrl(executionArn) }, null, 2)}\n`,
            );
        } else {
          process.stdout.write(
            `Started run ${runId}: ${input.cluster} → ${input.targetVersion}\n  execution: ${executionArn}\n  console:   ${clients.consoleUrl(executionArn)}\n`,
          );
          if (!flags.watch) process.stdout.write(`  follow:    fleet-upgrade watch ${runId}\n`);
        }
        process.exitCode = flags.watch
          ? await watchRun(clients, runId, { interval: 1000, tty: process.stderr.isTTY === true, ...(flags.json ? { json: true } : {}) })
          : EXIT_OK;
      } finally {
        clients.destroy();
      }
    });
}
