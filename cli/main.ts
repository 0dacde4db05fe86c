import { Command, CommanderError } from 'commander';
import { InputValidationError } from '../core/errors.js';
import { EXIT_BAD_INPUT, EXIT_RUN_FAILED, UsageError } from './errors.js';
import { rehearseCommand } from './rehearse.js';

/** The `fleet-upgrade` program. */
export function program(): Command {
  const root = new Command('fleet-upgrade')
    .description('Rolling in-place upgrade of a role-based cluster of nodes, one node at a time, safely.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  root.addCommand(rehearseCommand().exitOverride());
  return root;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 run failed, 2 bad input or usage. */
export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successful exits; anything else is a usage error.
      return error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    }
    if (error instanceof InputValidationError || error instanceof UsageError) {
      process.stderr.write(`fleet-upgrade: ${error.message}\n`);
      return EXIT_BAD_INPUT;
    }
    process.stderr.write(`fleet-upgrade: ${error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error)}\n`);
    return EXIT_RUN_FAILED;
  }
}
