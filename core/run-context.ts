import { InputValidationError } from './errors.js';
import type { UpgradeInput } from './input-schema.js';
import { DEFAULT_MAX_FAILED_NODES } from './failure-budget.js';

/** The execution name doubles as the run id: it names backups on the nodes, so it is held to a strict pattern. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/;

/** What every step of a run needs to know; small, because it travels in every state's input. */
export interface RunContext {
  runId: string;
  cluster: string;
  targetVersion: string;
  force: boolean;
  ignoreInspectFailures: boolean;
  /** Empty when no proxy is used (SSM parameters cannot be absent). */
  httpsProxy: string;
  startedAt: string;
  /** How long a failed node waits for a human decision before `onTimeout` applies. */
  approvalTimeoutSeconds: number;
  onTimeout: 'rollback' | 'abort';
  /** How long a pause may hold the run before it stops as abort does. */
  pauseLimitSeconds: number;
  /** Canary nodes before the run asks continue or abort; 0: no canary. */
  canary: number;
  /** Present only for rollback-and-continue (absent: the operator is asked), with its budget. */
  onFailure?: 'rollback-and-continue';
  maxFailedNodes?: number;
  /** The window cutoff (ISO time), when the input sets one. */
  notAfter?: string;
  /** Health gates: the alarms, present only when the input names some (the workflow's Choice tests for them), with the bake. */
  healthAlarms?: string[];
  bakeSeconds?: number;
}

export function runContext(input: UpgradeInput, runId: string, startedAt: string): RunContext {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new InputValidationError(
      `runId: expected letters, digits, ".", "-" or "_" (at most 80 characters), got ${JSON.stringify(runId).slice(0, 90)}`,
      'runId',
    );
  }
  // A cutoff already past would start nothing: refused before the lock is taken.
  if (input.notAfter !== undefined && Date.parse(input.notAfter) <= Date.parse(startedAt)) {
    throw new InputValidationError(
      `notAfter: ${input.notAfter} is not after the run's start (${startedAt}); give a later time, or +90m from the CLI`,
      'notAfter',
    );
  }
  return {
    runId,
    cluster: input.cluster,
    targetVersion: input.targetVersion,
    force: input.force,
    ignoreInspectFailures: input.ignoreInspectFailures,
    httpsProxy: input.httpsProxy ?? '',
    startedAt,
    approvalTimeoutSeconds: Math.max(1, Math.round(input.approval.timeoutMinutes * 60)),
    onTimeout: input.approval.onTimeout,
    pauseLimitSeconds: Math.max(1, Math.round(input.pauseLimitMinutes * 60)),
    canary: input.canary ?? 0,
    ...(input.onFailure === 'rollback-and-continue' ? { onFailure: input.onFailure, maxFailedNodes: input.maxFailedNodes ?? DEFAULT_MAX_FAILED_NODES } : {}),
    ...(input.healthAlarms !== undefined ? { healthAlarms: input.healthAlarms, bakeSeconds: input.bakeSeconds } : {}),
    ...(input.notAfter !== undefined ? { notAfter: new Date(Date.parse(input.notAfter)).toISOString() } : {}),
  };
}
