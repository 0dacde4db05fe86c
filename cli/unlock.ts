import { Command } from 'commander';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { RUN_ID_PATTERN } from '../core/run-context.js';
import { StackClients, globalFlags } from './aws.js';
import { EXIT_OK, EXIT_RUN_FAILED, UsageError } from './errors.js';
import { checkCluster } from './fleet-records.js';

/**
 * `fleet-upgrade unlock --cluster C --run R`: breaks the lock of a run that crashed, explicitly. It names
 * the run it expects to hold the lock, and refuses while that run's execution is still running.
 */
export function unlockCommand(): Command {
  return new Command('unlock')
    .description('Release the cluster lock held by a run that ended without releasing it (a crashed run). Refused while the run is still running.')
    .requiredOption('--cluster <name|file>', 'the cluster: its name, or a cluster file (its name is read)')
    .requiredOption('--run <run-id>', 'the run that holds the lock (as the lock names it)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  fleet-upgrade unlock --cluster prod-als --run prod-als-3.2.0-20261124T1030',
        '',
        'Exit codes: 0 released (or not locked), 1 refused (another run holds it, or the run is still running), 2 bad usage.',
      ].join('\n'),
    )
    .action(async (flags: { cluster: string; run: string; json?: boolean }, command: Command) => {
      const cluster = checkCluster(flags.cluster);
      if (!RUN_ID_PATTERN.test(flags.run)) throw new UsageError(`--run: expected a run id (execution name), got ${JSON.stringify(flags.run)}`);
      const clients = new StackClients(globalFlags(command));
      const say = (result: Record<string, unknown>, text: string, code: number) => {
        process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${text}\n`);
        process.exitCode = code;
      };
      try {
        const store = await clients.store();
        const lock = await store.getLock(cluster);
        if (lock === null) return say({ cluster, released: false, locked: false }, `cluster ${cluster} is not locked`, EXIT_OK);
        if (lock.runId !== flags.run) {
          return say(
            { cluster, released: false, heldBy: lock.runId },
            `cluster ${cluster} is locked by run ${lock.runId}, not ${flags.run}: nothing changed (name the run that holds it)`,
            EXIT_RUN_FAILED,
          );
        }
        let status = 'UNKNOWN';
        try {
          const out = await clients.sfn.send(new DescribeExecutionCommand({ executionArn: await clients.executionArn(flags.run) }));
          status = out.status ?? 'UNKNOWN';
        } catch (error) {
          if (!(error instanceof Error && error.name === 'ExecutionDoesNotExist')) throw error;
          status = 'DOES_NOT_EXIST';
        }
        if (status === 'RUNNING' || status === 'PENDING_REDRIVE') {
          return say(
            { cluster, released: false, heldBy: lock.runId, status },
            `run ${flags.run} is still ${status.toLowerCase()}: stop it first (fleet-upgrade stop ${flags.run}); nothing changed`,
            EXIT_RUN_FAILED,
          );
        }
        await store.releaseLock(cluster, flags.run);
        say(
          { cluster, released: true, heldBy: lock.runId, status },
          `cluster ${cluster}: lock of run ${flags.run} (execution ${status.toLowerCase()}) released`,
          EXIT_OK,
        );
      } finally {
        clients.destroy();
      }
    });
}
