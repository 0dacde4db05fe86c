import { FINAL_COMMAND_STATUSES, completeCommand } from '../../adapters/command-completion.js';
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
 * Invoked by the EventBridge rule when an SSM command of our document finishes: claims the command (a
 * duplicate event, or a step that reconciled after a lost event, finds it claimed and does nothing),
 * reads the output, interprets it under the runbook contract, checkpoints it and answers the waiting task.
 */
export const handler = async (event: CommandStatusEvent): Promise<{ answered: boolean }> => {
  const { 'command-id': commandId, 'instance-id': instanceId, status } = event.detail;
  if (!FINAL_COMMAND_STATUSES.has(status)) return { answered: false };
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const command = await findCommand(store, commandId);
  if (command === null) {
    logger.warn('status event for a command this stack did not start; ignored', { commandId, instanceId, status });
    return { answered: false };
  }
  if (command.state !== 'PENDING') {
    logger.info('duplicate status event; the task was already answered', { commandId, state: command.state });
    return { answered: false };
  }
  const runner = new SsmCommandRunner(ssmClient(), requireEnv('DOCUMENT_NAME'));
  const invocation = await runner.invocation(commandId, instanceId);
  const claimed = await store.claimCommand(commandId, new Date());
  if (claimed === null) {
    logger.info('the command was claimed meanwhile (duplicate event or reconcile); nothing to do', { commandId });
    return { answered: false };
  }
  const deps = { store, callback: new TaskCallback(sfnClient()), now: () => new Date() };
  const { answered, result } = await completeCommand(deps, claimed, invocation, claimed.taskToken);
  logger.info('step finished', { commandId, nodeId: claimed.nodeId, step: claimed.step, outcome: result.outcome, exitCode: result.exitCode, answered });
  return { answered };
};
