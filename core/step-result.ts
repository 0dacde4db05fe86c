import { compareVersions, isValidVersion } from './version.js';
import type { StepId } from './steps.js';
import type { StepCheckpoint } from './summary.js';

/** Runbook contract: exit 0 ok, 3 nothing to do / already at target, anything else failed. */
export const EXIT_NOTHING_TO_DO = 3;

/** FAILED_IGNORED: the step failed, and the run was told to go on (an inspect step with ignoreInspectFailures). */
export type StepOutcome = 'SUCCEEDED' | 'NOTHING_TO_DO' | 'FAILED' | 'FAILED_IGNORED';

/** What a finished step means for the run. Sent to the state machine as the task's output. */
export interface StepResult {
  step: StepId;
  nodeId: string;
  outcome: StepOutcome;
  exitCode: number | null;
  /** The JSON object on the script's last stdout line, if any. */
  details: Record<string, unknown>;
  /** Last lines of stdout+stderr, for the summary and the operator. */
  outputTail: string;
  warnings: string[];
  /** version-check only: the node is at (or above) the target version. */
  atTarget: boolean;
}

const TAIL_LINES = 20;
const TAIL_CHARS = 2000;

/** The last lines of a command's output, bounded so it fits in state payloads and emails. */
export function outputTail(stdout: string, stderr: string): string {
  const lines = [stdout, stderr]
    .map((s) => s.trimEnd())
    .filter((s) => s !== '')
    .join('\n')
    .split('\n');
  const tail = lines.slice(-TAIL_LINES).join('\n');
  return tail.length > TAIL_CHARS ? tail.slice(-TAIL_CHARS) : tail;
}

/** The details object a script may print as its last stdout line. Anything else yields `{}`. */
export function parseDetails(stdout: string): Record<string, unknown> {
  const last = stdout.trimEnd().split('\n').pop()?.trim() ?? '';
  if (!last.startsWith('{')) return {};
  try {
    const value: unknown = JSON.parse(last);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export interface RawStepResult {
  step: StepId;
  nodeId: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  targetVersion: string;
}

/** Interprets a command's exit code and output under the runbook contract. */
export function interpretStepResult(raw: RawStepResult): StepResult {
  const details = parseDetails(raw.stdout);
  const warnings = Array.isArray(details.warnings) ? details.warnings.filter((w): w is string => typeof w === 'string') : [];
  let outcome: StepOutcome = raw.exitCode === 0 ? 'SUCCEEDED' : raw.exitCode === EXIT_NOTHING_TO_DO ? 'NOTHING_TO_DO' : 'FAILED';
  let atTarget = false;
  if (raw.step === 'version-check' && outcome !== 'FAILED') {
    const current = typeof details.version === 'string' && isValidVersion(details.version) ? details.version : null;
    if (current === null) {
      outcome = 'FAILED';
      warnings.push('version check did not report a valid version');
    } else {
      atTarget = compareVersions(current, raw.targetVersion) >= 0;
      outcome = atTarget ? 'NOTHING_TO_DO' : 'SUCCEEDED';
    }
  }
  return {
    step: raw.step,
    nodeId: raw.nodeId,
    outcome,
    exitCode: raw.exitCode,
    details,
    outputTail: outputTail(raw.stdout, raw.stderr),
    warnings,
    atTarget,
  };
}

/**
 * kato's inspections, before and after the switch: `--ignore-inspect-failures` makes a failure of either a
 * warning. After the switch the node runs the new release, so it counts as upgraded.
 */
export const INSPECT_STEPS: readonly StepId[] = ['pre-upgrade-validation', 'post-upgrade-validation'];

/** Whether a failure of `step` becomes a warning in this run. */
export function failureIgnored(step: StepId, ignoreInspectFailures: boolean): boolean {
  return ignoreInspectFailures && INSPECT_STEPS.includes(step);
}

/** A failed inspect the operator chose to ignore: the run goes on, the failure stays visible as a warning. */
export function ignoreFailure(result: StepResult): StepResult {
  if (result.outcome !== 'FAILED') return result;
  const lastLine =
    result.outputTail
      .split('\n')
      .filter((l) => l.trim() !== '')
      .pop() ?? 'no output';
  const after = result.step === 'post-upgrade-validation' ? '; the node runs the new version' : '';
  return {
    ...result,
    outcome: 'FAILED_IGNORED',
    warnings: [
      ...result.warnings,
      `${result.step} failed (exit code ${result.exitCode ?? 'none'}), ignored as asked (ignoreInspectFailures)${after}: ${lastLine}`,
    ],
  };
}

/** The result a checkpoint holds, as the step's task output (a stale answer handed to the retried task). */
export function resultFromCheckpoint(checkpoint: StepCheckpoint): StepResult {
  const outcome = checkpoint.status === 'RUNNING' ? 'FAILED' : checkpoint.status;
  return {
    step: checkpoint.step,
    nodeId: checkpoint.nodeId,
    outcome,
    exitCode: checkpoint.exitCode,
    details: checkpoint.details ?? {},
    outputTail: checkpoint.outputTail ?? '',
    warnings: checkpoint.warnings,
    atTarget: checkpoint.step === 'version-check' && outcome === 'NOTHING_TO_DO',
  };
}
