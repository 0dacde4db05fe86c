import { Command, CommanderError } from 'commander';
import { InputValidationError, PlanError } from '../core/errors.js';
import { createRequire } from 'node:module';
import { existsSync, statSync } from 'node:fs';
import { AwsUnreachableError, EXIT_BAD_INPUT, EXIT_RUN_FAILED, EXIT_UNREACHABLE, isUnreachable, unreachableHint, UsageError } from './errors.js';
import { rehearseCommand } from './rehearse.js';
import { addGlobalOptions } from './aws.js';
import { startCommand } from './start.js';
import { watchCommand } from './watch.js';
import { statusCommand } from './status.js';
import { stopCommand } from './stop.js';
import { historyCommand, nodesCommand } from './fleet-records.js';
import { planCommand } from './plan.js';
import { localCommand } from './local-serve.js';
import { diagramCommand } from './diagram.js';
import { unlockCommand } from './unlock.js';
import { approvalsCommand, decideCommand } from './approvals.js';
import { confirmSubscriptionCommand, subscriptionsCommand } from './subscriptions.js';
import { doctorCommand } from './doctor.js';
import { pauseCommand, resumeCommand } from './pause.js';

/** The `fleet-upgrade` program. */
export function program(): Command {
  const root = addGlobalOptions(
    new Command('fleet-upgrade')
      .description('Rolling in-place upgrade of a role-based cluster of nodes, one node at a time, safely.')
      .showHelpAfterError('(run with --help for usage)')
      .version(packageVersion(), '--version', 'print the version')
      .exitOverride(),
  ).addHelpText(
    'after',
    `
Examples:
  fleet-upgrade plan --cluster prod-als.json --target-version 3.2.0
  fleet-upgrade start --cluster prod-als.json --target-version 3.2.0 --watch
  fleet-upgrade status                      # latest runs
  fleet-upgrade pause --run prod-als-3.2.0-20261124T1030    # in-flight nodes finish, none starts; then: resume --run …
  fleet-upgrade nodes --cluster prod-als    # versions, mixed versions highlighted
  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0
  fleet-upgrade confirm-subscription --link '<the email's Confirm subscription URL>'   # do not click it

AWS: the usual credential/region chain; the stack's outputs name the state machine and table (--stack).
Local: \`fleet-upgrade local serve …\`, then --endpoint http://127.0.0.1:4599 (or FLEET_UPGRADE_ENDPOINT).
Commands that print results take --json (or --output json). Exit codes: 0 ok, 1 the run ended otherwise, 2 bad input or usage,
3 AWS could not be asked (credentials, region, network).`,
  );
  for (const command of [
    startCommand(),
    planCommand(),
    watchCommand(),
    statusCommand(),
    stopCommand(),
    pauseCommand(),
    resumeCommand(),
    historyCommand(),
    nodesCommand(),
    unlockCommand(),
    diagramCommand(),
    rehearseCommand(),
    localCommand(),
    approvalsCommand(),
    decideCommand(),
    subscriptionsCommand(),
    confirmSubscriptionCommand(),
    doctorCommand(),
  ]) {
    root.addCommand(command.exitOverride());
  }
  for (const command of root.commands) for (const sub of command.commands) sub.exitOverride();
  return root;
}

/** The package's version (what `--version` prints). */
function packageVersion(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

/**
 * `--output json|text`, anywhere on the line, is the commands' own `--json` (or nothing): one spelling for
 * scripts whatever the command. A command without JSON output then says it does not know --json.
 */
export function withOutputFlag(argv: readonly string[]): string[] {
  const out: string[] = [];
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const inline = /^--output=(.*)$/.exec(arg);
    if (arg !== '--output' && inline === null) {
      out.push(arg);
      continue;
    }
    const value = inline?.[1] ?? argv[++i];
    if (value !== 'json' && value !== 'text') throw new UsageError(`--output: expected json or text, got ${JSON.stringify(value ?? '')}`);
    json = value === 'json';
  }
  if (json && !out.includes('--json')) out.push('--json');
  return out;
}

/**
 * `--cluster-file FILE` is `--cluster FILE` for those who want to say it is a file: it must be one, so a
 * missing file is refused instead of being taken for a cluster name.
 */
export function withClusterFileFlag(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    // After `--` every word is an argument, not an option.
    if (arg === '--') return [...out, ...argv.slice(i)];
    const inline = /^--cluster-file=(.*)$/.exec(arg);
    if (arg !== '--cluster-file' && inline === null) {
      out.push(arg);
      continue;
    }
    const value = inline?.[1] ?? argv[++i] ?? '';
    if (value === '' || !existsSync(value) || !statSync(value).isFile()) {
      const why = value !== '' && existsSync(value) ? 'not a file' : 'no such file';
      throw new UsageError(`--cluster-file: expected the path of a cluster file, got ${JSON.stringify(value)} (${why})`);
    }
    out.push('--cluster', value);
  }
  return out;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 run failed, 2 bad input or usage, 3 AWS unreachable. */
export async function main(argv: string[]): Promise<number> {
  // One command's exit code, not a previous one's (tests run many commands in one process).
  process.exitCode = undefined;
  try {
    await program().parseAsync(withClusterFileFlag(withOutputFlag(argv)), { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successful exits; anything else is a usage error.
      return error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    }
    if (error instanceof InputValidationError || error instanceof UsageError || error instanceof PlanError) {
      process.stderr.write(`fleet-upgrade: ${error.message}\n`);
      return EXIT_BAD_INPUT;
    }
    if (error instanceof AwsUnreachableError) {
      process.stderr.write(`fleet-upgrade: ${error.message}\n`);
      return EXIT_UNREACHABLE;
    }
    if (isUnreachable(error)) {
      const e = error as Error;
      process.stderr.write(`fleet-upgrade: ${e.name}: ${e.message} (${unreachableHint(process.env.FLEET_UPGRADE_ENDPOINT)})\n`);
      return EXIT_UNREACHABLE;
    }
    process.stderr.write(`fleet-upgrade: ${error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error)}\n`);
    return EXIT_RUN_FAILED;
  }
}
