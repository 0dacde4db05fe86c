import { ignoreFailure, interpretStepResult } from '../../core/step-result.js';
import { FleetStore, type PendingCommand } from '../../adapters/store.js';
import { SsmCommandRunner } from '../../adapters/ssm.js';
import { TaskCallback } from '../../adapters/task-callback.js';
import { documentClient, requireEnv, sfnClient, ssmClient } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';

/** The EventBridge event "EC2 Command Invocation Status-change Notification" (fields we use). */
export interface CommandStatusEvent {
  'detail-type'?: string;
  source?: string;
  detail: {
    'command-id': string;
    'instance-id': string;
    'document-name'?: string;
    status: string;
  };
}

const FINAL_STATUSES = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled', 'DeliveryTimedOut', 'ExecutionTimedOut', 'Undeliverable', 'Terminated']);

/** The pending command may be written a moment after SSM already finished it: look again briefly. */
async function findCommand(store: FleetStore, commandId: string): Promise<(PendingCommand & { state: string }) | null> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const command = await store.getCommand(commandId);
    if (command !== null) return command;
    await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
  }
  return null;
}

/**
 * Invoked by the EventBridge rule when an SSM command of our document finishes: reads the output,
 * interprets it under the runbook contract, checkpoints it, and answers the waiting task.
 */
export const handler = async (event: CommandStatusEvent): Promise<{ answered: boolean }> => {
  const { 'command-id': commandId, 'instance-id': instanceId, status } = event.detail;
  if (!FINAL_STATUSES.has(status)) return { answered: false };
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const command = await findCommand(store, commandId);
  if (command === null) {
    logger.warn('status event for a command this stack did not start; ignored', { commandId, instanceId, status });
    return { answered: false };
  }
  if (command.state !== 'PENDING') {
    logger.info('duplicate status event; the task was already answered', { commandId });
    return { answered: false };
  }
  const runner = new SsmCommandRunner(ssmClient(), requireEnv('DOCUMENT_NAME'));
  const invocation = await runner.invocation(commandId, instanceId);
  const interpreted = interpretStepResult({
    step: command.step,
    nodeId: command.nodeId,
    exitCode: invocation.exitCode,
    stdout: invocation.stdout,
    stderr: invocation.stderr === '' && invocation.exitCode === null ? `SSM status ${invocation.status}` : invocation.stderr,
    targetVersion: command.targetVersion,
  });
  const result = command.ignoreFailure === true ? ignoreFailure(interpreted) : interpreted;
  const previous = await store.getCheckpoint(command.runId, command.nodeId, command.step);
  const finishedAt = new Date().toISOString();
  await store.putCheckpoint(command.runId, {
    nodeId: command.nodeId,
    step: command.step,
    status: result.outcome,
    exitCode: result.exitCode,
    warnings: result.warnings,
    outputTail: result.outputTail,
    details: result.details,
    startedAt: previous?.startedAt ?? command.sentAt,
    finishedAt,
  });
  const callback = new TaskCallback(sfnClient());
  const answered =
    result.outcome === 'FAILED'
      ? await callback.fail(
          command.taskToken,
          'StepFailed',
          JSON.stringify({ nodeId: command.nodeId, step: command.step, exitCode: result.exitCode, outputTail: result.outputTail }),
        )
      : await callback.succeed(command.taskToken, result);
  await store.claimCommand(commandId, new Date());
  logger.info('step finished', { commandId, nodeId: command.nodeId, step: command.step, outcome: result.outcome, exitCode: result.exitCode, answered });
  return { answered };
};
