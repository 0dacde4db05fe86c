import { isStepId } from '../../core/steps.js';
import { attemptAction, recordedCommandAction, retryCheckpoint } from '../../core/earlier-attempt.js';
import { FleetStore } from '../../adapters/store.js';
import { SsmCommandRunner } from '../../adapters/ssm.js';
import { TaskCallback } from '../../adapters/task-callback.js';
import type { CompletionDeps } from '../../adapters/command-completion.js';
import { documentClient, logsClient, requireEnv, sfnClient, ssmClient } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { recordCommand, stepTimeoutSeconds, type RunStepEvent, type RunStepResult } from './command.js';
import { takeOver, takeOverSent } from './take-over.js';

export type { RunStepEvent, RunStepResult } from './command.js';
export { stepTimeoutSeconds } from './command.js';

/**
 * Starts one runbook step on one node and returns at once: the state machine waits on the task token,
 * which `command-finished` answers when SSM reports the command done. No polling loop.
 *
 * Idempotent: when an earlier attempt of this step (the task timed out, or the invocation was retried)
 * already started a command whose result no task took, the node does not run the step again — the
 * command is taken over (core/earlier-attempt.ts decides whether, core/take-over.ts how).
 */
export const handler = async (event: RunStepEvent): Promise<RunStepResult> => {
  if (!isStepId(event.step)) throw new Error(`unknown step ${String(event.step)}`);
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const runner = new SsmCommandRunner(ssmClient(), requireEnv('DOCUMENT_NAME'), requireEnv('COMMAND_OUTPUT_LOG_GROUP'), logsClient());
  const deps: CompletionDeps = { store, callback: new TaskCallback(sfnClient()), now: () => new Date() };
  const { runId } = event.run;
  const log = { runId, nodeId: event.node.id, step: event.step };

  const now = new Date();
  // The common case, a step's first attempt, costs one request here: the RUNNING checkpoint is written
  // unless an earlier attempt left one (then nothing is written yet, and that checkpoint decides).
  const running = { nodeId: event.node.id, step: event.step, status: 'RUNNING' as const, exitCode: null, warnings: [], startedAt: now.toISOString() };
  const previous = await store.startCheckpoint(runId, running);
  const action = attemptAction(previous);
  if (action.kind === 'look-up-command') {
    const recorded = recordedCommandAction(await store.getCommand(action.commandId));
    if (recorded.kind === 'take-over') return takeOver(deps, runner, recorded.command, event.taskToken);
  } else if (action.kind === 'find-sent') {
    const served = await takeOverSent(deps, runner, event, action.since);
    if (served !== null) return served;
    logger.warn('an earlier attempt of this step stopped before it sent its command; sending the step', log);
  }

  const timeout = stepTimeoutSeconds(event.step);
  if (previous !== null) await store.putCheckpoint(runId, retryCheckpoint(previous, now.toISOString()));
  const commandId = await runner.send(event.node.id, {
    step: event.step,
    targetVersion: event.run.targetVersion,
    artifactBaseUrl: requireEnv('ARTIFACT_BASE_URL'),
    httpsProxy: event.run.httpsProxy,
    runId,
    executionTimeout: String(timeout),
  });
  await recordCommand(store, event, commandId, now, timeout);
  logger.info('step started', { ...log, commandId });
  return { commandId, served: 'sent' };
};
