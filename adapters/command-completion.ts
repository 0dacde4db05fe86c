import { ignoreFailure, interpretStepResult, type StepResult } from '../core/step-result.js';
import { STEP_FAILED } from '../core/errors.js';
import { FINAL_COMMAND_STATUSES as FINAL_STATUSES, FINAL_STATUS_DETAILS, type CommandInvocation } from '../core/command-status.js';
import type { FleetStore, PendingCommand } from './store.js';
import type { TaskCallback } from './task-callback.js';

/** SSM statuses after which a command's invocation will not change again (core/command-status.ts). */
export const FINAL_COMMAND_STATUSES: ReadonlySet<string> = new Set<string>([...FINAL_STATUSES, ...FINAL_STATUS_DETAILS]);

export interface CompletionDeps {
  store: FleetStore;
  callback: TaskCallback;
  now: () => Date;
}

/**
 * The last part of every step, whoever learned that its command ended (the status event, or a retried
 * step reconciling after a lost event): interpret the output under the runbook contract, checkpoint it,
 * answer the task, and settle the claim. The command must be claimed (ANSWERING) by the caller.
 */
export async function completeCommand(
  deps: CompletionDeps,
  command: PendingCommand,
  invocation: CommandInvocation,
  taskToken: string,
): Promise<{ answered: boolean; result: StepResult }> {
  const interpreted = interpretStepResult({
    step: command.step,
    nodeId: command.nodeId,
    exitCode: invocation.exitCode,
    stdout: invocation.stdout,
    stderr: invocation.stderr === '' && invocation.exitCode === null ? `SSM status ${invocation.status}` : invocation.stderr,
    targetVersion: command.targetVersion,
  });
  const result = command.ignoreFailure === true ? ignoreFailure(interpreted) : interpreted;
  // One request: the RUNNING checkpoint's startedAt and earlierAttempts stay as they are.
  await deps.store.finishCheckpoint(command.runId, {
    nodeId: command.nodeId,
    step: command.step,
    status: result.outcome,
    exitCode: result.exitCode,
    warnings: result.warnings,
    outputTail: result.outputTail,
    details: result.details,
    startedAt: command.sentAt,
    finishedAt: deps.now().toISOString(),
    commandId: command.commandId,
    ...(command.timeoutSeconds !== undefined ? { timeoutSeconds: command.timeoutSeconds } : {}),
  });
  const answered = await answer(deps, command.commandId, taskToken, result);
  return { answered, result };
}

/** Answers the task with a step's result and settles the command: ANSWERED, STALE, or PENDING again when answering failed. */
export async function answer(deps: CompletionDeps, commandId: string, taskToken: string, result: StepResult): Promise<boolean> {
  let answered: boolean;
  try {
    answered =
      result.outcome === 'FAILED'
        ? await deps.callback.fail(
            taskToken,
            STEP_FAILED,
            JSON.stringify({ nodeId: result.nodeId, step: result.step, exitCode: result.exitCode, outputTail: result.outputTail }),
          )
        : await deps.callback.succeed(taskToken, result);
  } catch (error) {
    // Step Functions did not take the answer (throttled, unreachable): the next delivery or retry answers it.
    await deps.store.settleCommand(commandId, 'PENDING', deps.now());
    throw error;
  }
  await deps.store.settleCommand(commandId, answered ? 'ANSWERED' : 'STALE', deps.now());
  return answered;
}
