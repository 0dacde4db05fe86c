import { isFinalCommandStatus, type CommandInvocation } from './command-status.js';
import { interpretStepResult, resultFromCheckpoint, type StepResult } from './step-result.js';
import { STEP_TIMEOUT_SECONDS, unresponsiveAfterSeconds, type StepId } from './steps.js';
import type { StepCheckpoint } from './summary.js';

/**
 * The steps the cleanup of a stopped run waits for or runs itself (a rollback, maintenance off). The cleanup
 * may span invocations, so each decision is taken again from what DynamoDB says, and none sends a second
 * command to a node while one may still run there.
 */

/** When a step's command must have ended, delivered late or not (epoch ms): past it, the cleanup stops waiting for it. */
export function stepDeadlineMs(startedAt: string, timeoutSeconds: number): number {
  return Date.parse(startedAt) + unresponsiveAfterSeconds(timeoutSeconds) * 1000;
}

/** Before the cleanup acts on a node: it is settled, or a step the stop caught still runs on it and is waited for. */
export type SettleAction = { kind: 'settled' } | { kind: 'wait'; steps: StepId[] };

/**
 * Settling: a step the stop caught finishes on the node before the cleanup acts there, within the step's own
 * bound (not the invocation's, which may be a later one). A rollback under way (this cleanup's, from an
 * invocation that ran out of time, or the run's own) is not waited for here: the cleanup takes it over.
 */
export function settleAction(checkpoints: readonly (StepCheckpoint | null)[], nowMs: number): SettleAction {
  const running = checkpoints.filter(
    (c): c is StepCheckpoint =>
      c !== null && c.status === 'RUNNING' && c.step !== 'rollback' && nowMs < stepDeadlineMs(c.startedAt, c.timeoutSeconds ?? STEP_TIMEOUT_SECONDS[c.step]),
  );
  return running.length === 0 ? { kind: 'settled' } : { kind: 'wait', steps: running.map((c) => c.step) };
}

/** How the cleanup starts one of its own steps on a node, given the step's checkpoint. */
export type CleanupStepStart =
  /** Done already (the run's own rollback finished just before the stop, or an earlier invocation's whose outcome was not recorded): never a second one. */
  | { kind: 'done'; result: StepResult }
  /** An earlier invocation (or the run) sent it and it may still run: wait for that command. */
  | { kind: 'wait-for'; commandId: string; startedAt: string }
  /** Never run, failed (tried again), or never sent: send it. */
  | { kind: 'send' };

export function cleanupStepStart(earlier: StepCheckpoint | null): CleanupStepStart {
  if (earlier === null) return { kind: 'send' };
  if (earlier.status !== 'RUNNING' && earlier.status !== 'FAILED') return { kind: 'done', result: resultFromCheckpoint(earlier) };
  if (earlier.status === 'RUNNING' && earlier.commandId !== undefined) return { kind: 'wait-for', commandId: earlier.commandId, startedAt: earlier.startedAt };
  return { kind: 'send' };
}

/** The cleanup waits for its command until SSM says it ended (an unreadable invocation counts as not ended) or its deadline passed. */
export function keepsWaiting(invocation: Pick<CommandInvocation, 'status'> | null, deadlineMs: number, nowMs: number): boolean {
  return (invocation === null || !isFinalCommandStatus(invocation.status)) && nowMs < deadlineMs;
}

/** What the cleanup's step did, from its last invocation (null: never read): no word from SSM reads as a failure saying so. */
export function cleanupStepResult(step: StepId, nodeId: string, targetVersion: string, invocation: CommandInvocation | null): StepResult {
  return interpretStepResult({
    step,
    nodeId,
    exitCode: invocation?.exitCode ?? null,
    stdout: invocation?.stdout ?? '',
    stderr: invocation?.stderr || `SSM status ${invocation?.status ?? 'unknown'}`,
    targetVersion,
  });
}
