import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { Command } from 'commander';
import { globalFlags, StackClients } from './aws.js';
import { EXIT_OK } from './errors.js';
import { table, when } from './table.js';
import { watchRun } from './watch.js';
import { pauseLimitSecondsOf, pauseUntil } from '../core/pause.js';

export function statusCommand(): Command {
  return new Command('status')
    .description('Show a run (its nodes and current steps, or its summary), or without <run> the latest runs.')
    .argument('[run]', 'run id (execution name) or execution ARN')
    .option('--limit <n>', 'how many runs to list', (v) => Number(v), 20)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  fleet-upgrade status',
        '  fleet-upgrade status prod-als-3.2.0-20261124T1030 --json',
        '',
        'Exit codes: 0 ok (a run: it succeeded or is still running), 1 the run ended otherwise, 2 bad usage.',
      ].join('\n'),
    )
    .action(async (run: string | undefined, flags: { limit: number; json?: boolean }, command: Command) => {
      const clients = new StackClients(globalFlags(command));
      try {
        if (run !== undefined) {
          const executionArn = await clients.executionArn(run);
          const described = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
          if (described.status === 'RUNNING' && !flags.json) {
            const pause = await (await clients.pauses()).open(described.name ?? run);
            const until = pause === null ? '' : pauseUntil(pause, pauseLimitSecondsOf(JSON.parse(described.input ?? '{}') as object));
            const name = described.name ?? run;
            const paused =
              pause === null
                ? ''
                : ` — PAUSED by ${pause.pausedBy} at ${pause.pausedAt}${pause.reason ? ` (${pause.reason})` : ''}; ` +
                  `no node starts until fleet-upgrade resume --run ${name} (limit ${until}, then the run stops as abort does)`;
            process.stdout.write(`Run ${name}: RUNNING since ${when(described.startDate)}${paused}\n`);
          }
          process.exitCode = await watchRun(clients, executionArn, { interval: 0, tty: false, once: true, ...(flags.json ? { json: true } : {}) });
          return;
        }
        const stateMachineArn = await clients.stateMachineArn();
        const out = await clients.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: Math.max(1, Math.min(flags.limit, 1000)) }));
        const runs = (out.executions ?? []).map((e) => ({
          runId: e.name ?? '',
          status: e.status ?? '',
          startDate: e.startDate?.toISOString() ?? null,
          stopDate: e.stopDate?.toISOString() ?? null,
        }));
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
        } else if (runs.length === 0) {
          process.stdout.write('No runs yet. Start one with `fleet-upgrade start --cluster FILE --target-version V`.\n');
        } else {
          process.stdout.write(
            `${table([['RUN', 'STATUS', 'STARTED', 'ENDED'], ...runs.map((r) => [r.runId, r.status, when(r.startDate), when(r.stopDate)])]).join('\n')}\n`,
          );
        }
        process.exitCode = EXIT_OK;
      } finally {
        clients.destroy();
      }
    });
}
