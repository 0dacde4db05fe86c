import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { Command } from 'commander';
import { RUN_ID_PATTERN } from '../core/run-context.js';
import { pauseLimitSecondsOf, pauseUntil } from '../core/pause.js';
import { releaseHeldNodes } from '../adapters/held-release.js';
import { TaskCallback } from '../adapters/task-callback.js';
import { callerIdentity } from './approvals.js';
import { globalFlags, StackClients } from './aws.js';
import { EXIT_OK, EXIT_RUN_FAILED, UsageError } from './errors.js';

/** A running run's id, its pause limit (from its execution input) and the clients; exit 1 when it is not running. */
async function runningRun(clients: StackClients, run: string): Promise<{ runId: string; limitSeconds: number; canary: number } | string> {
  const described = await clients.sfn.send(new DescribeExecutionCommand({ executionArn: await clients.executionArn(run) }));
  if (described.status !== 'RUNNING') return `run ${described.name ?? run} is not running (it is ${described.status ?? 'unknown'}): nothing to change`;
  let input: Record<string, unknown> = {};
  try {
    input = JSON.parse(described.input ?? '{}') as Record<string, unknown>;
  } catch {
    // An execution started by hand with odd input: the default limit applies, as validate-input would have it.
  }
  return { runId: described.name ?? run, limitSeconds: pauseLimitSecondsOf(input), canary: typeof input.canary === 'number' ? input.canary : 0 };
}

function checkRun(run: string): string {
  if (!RUN_ID_PATTERN.test(run)) throw new UsageError(`--run: expected a run id (execution name), got ${JSON.stringify(run)}`);
  return run;
}

/** Prints text (or JSON) and sets the exit code. */
function say(json: boolean | undefined, result: Record<string, unknown>, text: string, code: number): void {
  if (code === EXIT_OK || json) process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${text}\n`);
  else process.stderr.write(`fleet-upgrade: ${text}\n`);
  process.exitCode = code;
}

/** `fleet-upgrade pause --run R`: nodes in flight finish their current node; no node starts until `resume`. */
export function pauseCommand(): Command {
  return new Command('pause')
    .description(
      "Pause a run: nodes in flight finish their current node, no node starts until `fleet-upgrade resume`. Past the run's pauseLimitMinutes (default 24 h) the run stops as abort does.",
    )
    .requiredOption('--run <run-id>', 'the run (execution name)')
    .option('--reason <text>', 'why (shown by status and in the summary)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  fleet-upgrade pause --run prod-als-3.2.0-20261124T1030 --reason "error rate up, looking"',
        '  fleet-upgrade --endpoint http://127.0.0.1:4599 --table fleet-upgrade-local pause --run demo-3.1.0-20261124T1030',
        '',
        'Exit codes: 0 paused, 1 not possible (the run is not running, is stopping, or is paused already), 2 bad usage.',
      ].join('\n'),
    )
    .action(async (flags: { run: string; reason?: string; json?: boolean }, command: Command) => {
      const run = checkRun(flags.run);
      const global = globalFlags(command);
      const clients = new StackClients(global);
      try {
        const found = await runningRun(clients, run);
        if (typeof found === 'string') return say(flags.json, { runId: run, paused: false, reason: found }, found, EXIT_RUN_FAILED);
        const stop = await (await clients.store()).runStopping(found.runId);
        if (stop !== null)
          return say(
            flags.json,
            { runId: found.runId, paused: false, stopping: stop.reason },
            `run ${found.runId} is stopping (${stop.reason}): no node starts anyway; nothing changed`,
            EXIT_RUN_FAILED,
          );
        const by = await callerIdentity(
          global.endpoint === undefined ? new STSClient({ maxAttempts: 1, ...(global.region ? { region: global.region } : {}) }) : null,
          'pause',
        );
        const result = await (await clients.pauses()).pause(found.runId, by, new Date().toISOString(), flags.reason);
        if (!result.paused) {
          const { existing } = result;
          return say(
            flags.json,
            { runId: found.runId, paused: false, pausedBy: existing.pausedBy, pausedAt: existing.pausedAt },
            `run ${found.runId} is paused already (by ${existing.pausedBy} at ${existing.pausedAt}); resume it with fleet-upgrade resume --run ${found.runId}`,
            EXIT_RUN_FAILED,
          );
        }
        const until = pauseUntil(result.pause, found.limitSeconds);
        say(
          flags.json,
          { runId: found.runId, paused: true, pausedBy: by, pausedAt: result.pause.pausedAt, until },
          `Paused run ${found.runId}: nodes in flight finish their current node; no node starts until fleet-upgrade resume --run ${found.runId}.\n` +
            `Not resumed by ${until}, the run stops as abort does (nodes not started stay as they are, maintenance mode off, the lock released).`,
          EXIT_OK,
        );
      } finally {
        clients.destroy();
      }
    });
}

/** `fleet-upgrade resume --run R`: ends the pause and lets the held nodes go on (answers their waiting states). */
export function resumeCommand(): Command {
  return new Command('resume')
    .description('Resume a paused run: the nodes waiting in "Paused" start (unless a failed node\'s question still holds them).')
    .requiredOption('--run <run-id>', 'the run (execution name)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  fleet-upgrade resume --run prod-als-3.2.0-20261124T1030',
        '',
        'Exit codes: 0 resumed, 1 not possible (the run is not running or not paused, or its pause passed its limit), 2 bad usage.',
        "IAM: besides reading the table, this updates the run's PAUSE item and calls states:SendTaskSuccess (as `decide` does).",
      ].join('\n'),
    )
    .action(async (flags: { run: string; json?: boolean }, command: Command) => {
      const run = checkRun(flags.run);
      const global = globalFlags(command);
      const clients = new StackClients(global);
      try {
        const found = await runningRun(clients, run);
        if (typeof found === 'string') return say(flags.json, { runId: run, resumed: false, reason: found }, found, EXIT_RUN_FAILED);
        const [store, pauses] = [await clients.store(), await clients.pauses()];
        const pause = await pauses.get(found.runId);
        if (pause?.state !== 'PAUSED') {
          const why = pause?.state === 'EXPIRED' ? `its pause passed its limit at ${pause.endedAt ?? '?'}: the run is stopping` : 'it is not paused';
          return say(
            flags.json,
            { runId: found.runId, resumed: false, state: pause?.state ?? null },
            `run ${found.runId}: ${why}; nothing changed`,
            EXIT_RUN_FAILED,
          );
        }
        const by = await callerIdentity(
          global.endpoint === undefined ? new STSClient({ maxAttempts: 1, ...(global.region ? { region: global.region } : {}) }) : null,
          'resume',
        );
        if (!(await pauses.end(found.runId, pause, 'RESUMED', by, new Date().toISOString()))) {
          return say(
            flags.json,
            { runId: found.runId, resumed: false },
            `run ${found.runId}: its pause ended meanwhile (resumed by someone else, or its limit passed); nothing changed`,
            EXIT_RUN_FAILED,
          );
        }
        // The waiting nodes are released here, as record-node releases them when a question is answered.
        const released = await releaseHeldNodes(
          { store, pauses, canaries: await clients.canaries(), callback: new TaskCallback(clients.sfn) },
          found.runId,
          { pauseLimitSeconds: found.limitSeconds, canary: found.canary },
          () => new Date().toISOString(),
        );
        say(
          flags.json,
          { runId: found.runId, resumed: true, resumedBy: by, released },
          `Resumed run ${found.runId}${released.length > 0 ? `: ${released.join(', ')} go on` : ''}.`,
          EXIT_OK,
        );
      } finally {
        clients.destroy();
      }
    });
}
