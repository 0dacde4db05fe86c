import { Option, type Command } from 'commander';
import { ON_FAILURE, type OnFailure } from '../core/failure-budget.js';
import { resolveNotAfter } from '../core/window.js';
import { ALARM_NAME_PATTERN, MAX_BAKE_SECONDS } from '../core/health.js';
import { UsageError } from './errors.js';

/** `--on-failure`, `--max-failed-nodes`, `--not-after`, `--health-alarm`, `--bake-seconds`: shared by `start`, `plan` and `rehearse`. */
export interface PolicyFlags {
  onFailure?: OnFailure;
  maxFailedNodes?: number;
  notAfter?: string;
  healthAlarm?: string[];
  bakeSeconds?: number;
}

/** `--not-after 2026-12-01T06:00:00Z` or `+90m` → the absolute ISO time the input takes (relative to now). */
export function parseNotAfter(value: string): string {
  const at = resolveNotAfter(value, new Date());
  if (at === null)
    throw new UsageError(
      `--not-after: expected an ISO time with a zone (2026-12-01T06:00:00Z) or a time from now (+45m, +2h, +1d), got ${JSON.stringify(value)}`,
    );
  return at;
}

function parseCount(value: string): number {
  if (!/^[0-9]{1,5}$/.test(value)) throw new UsageError(`--max-failed-nodes: expected a whole number (0 or more), got ${JSON.stringify(value)}`);
  return Number(value);
}

function parseAlarmName(value: string, previous: string[] = []): string[] {
  if (!ALARM_NAME_PATTERN.test(value))
    throw new UsageError(`--health-alarm: expected a CloudWatch alarm name (1 to 255 printable ASCII characters), got ${JSON.stringify(value)}`);
  return [...previous, value];
}

function parseBakeSeconds(value: string): number {
  if (!/^[0-9]{1,4}$/.test(value) || Number(value) > MAX_BAKE_SECONDS)
    throw new UsageError(`--bake-seconds: expected a whole number of seconds from 0 to ${MAX_BAKE_SECONDS}, got ${JSON.stringify(value)}`);
  return Number(value);
}

export function addPolicyOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--on-failure <policy>',
        'a failed node: ask the operator (default), or roll it back and go on without asking, within --max-failed-nodes',
      ).choices([...ON_FAILURE]),
    )
    .option(
      '--max-failed-nodes <n>',
      'with --on-failure rollback-and-continue: failed nodes rolled back without asking (default 1); the next failure stops the run as abort does',
      parseCount,
    )
    .option(
      '--not-after <time>',
      'start no node that is estimated to finish after TIME (ISO time, or +90m / +2h from now); the run then ends INCOMPLETE',
      parseNotAfter,
    )
    .option(
      '--health-alarm <name>',
      'a CloudWatch alarm read before each node starts and after it finishes; in ALARM it holds new nodes and asks continue or abort; repeatable',
      parseAlarmName,
    )
    .option('--bake-seconds <n>', 'with --health-alarm: seconds of watching the alarms after each node (default 0)', parseBakeSeconds);
}

/** The input fields the flags set (absent flags leave the input's own fields). */
export function policyInput(flags: PolicyFlags): Record<string, unknown> {
  return {
    ...(flags.onFailure !== undefined ? { onFailure: flags.onFailure } : {}),
    ...(flags.maxFailedNodes !== undefined ? { maxFailedNodes: flags.maxFailedNodes } : {}),
    ...(flags.notAfter !== undefined ? { notAfter: flags.notAfter } : {}),
    ...(flags.healthAlarm !== undefined ? { healthAlarms: flags.healthAlarm } : {}),
    ...(flags.bakeSeconds !== undefined ? { bakeSeconds: flags.bakeSeconds } : {}),
  };
}
