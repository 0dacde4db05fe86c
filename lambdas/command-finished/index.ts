import { FINAL_COMMAND_STATUSES, completeCommand } from '../../adapters/command-completion.js';
import { FleetStore } from '../../adapters/store.js';
import { SsmCommandRunner } from '../../adapters/ssm.js';
import { TaskCallback } from '../../adapters/task-callback.js';
import { documentClient, logsClient, requireEnv, sfnClient, ssmClient } from '../../adapters/aws-clients.js';
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

/** Waits between looks for a command not recorded yet: about 3 s in all, which only an event for a command this stack never started waits out. */
const RECORD_WAITS_MS = [50, 100, 200, 400, 800, 1600];

/**
 * Claims the command in one request. The pending command may be recorded a moment after SSM already
 * finished it (run-step records it just after SendCommand; a loaded machine can make that moment long):
 * when it is missing, look again.
 */
async function claimWhenRecorded(store: FleetStore, commandId: string): ReturnType<FleetStore['tryClaimCommand']> {
  for (let look = 0; ; look++) {
    const claim = await store.tryClaimCommand(commandId, new Date());
    const wait = RECORD_WAITS_MS[look];
    if (claim.outcome !== 'missing' || wait === undefined) return claim;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/**
 * Invoked by the EventBridge rule when an SSM command of our document finishes: claims the command (a
 * duplicate event, or a step that reconciled after a lost event, finds it claimed and does nothing),
 * reads the output, interprets it under the runbook contract, checkpoints it and answers the waiting task.
 * The claim and the output are requested together; a claim whose output cannot be read is handed back
 * (PENDING), so that EventBridge's retry, or the step's own retry, can answer it.
 */
export const handler = async (event: CommandStatusEvent): Promise<{ answered: boolean }> => {
  const { 'command-id': commandId, 'instance-id': instanceId, status } = event.detail;
  if (!FINAL_COMMAND_STATUSES.has(status)) return { answered: false };
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const runner = new SsmCommandRunner(ssmClient(), requireEnv('DOCUMENT_NAME'), requireEnv('COMMAND_OUTPUT_LOG_GROUP'), logsClient());
  const reading = runner.invocation(commandId, instanceId);
  // Read only when claimed (a stray event's command has no invocation); never an unhandled rejection.
  reading.catch(() => undefined);
  const claim = await claimWhenRecorded(store, commandId);
  if (claim.outcome === 'missing') {
    logger.warn('status event for a command this stack did not start; ignored', { commandId, instanceId, status });
    return { answered: false };
  }
  if (claim.outcome === 'taken') {
    logger.info('duplicate status event, or the command was claimed meanwhile (reconcile); nothing to do', { commandId, state: claim.state });
    return { answered: false };
  }
  const claimed = claim.command;
  let invocation: Awaited<typeof reading>;
  try {
    invocation = await reading;
  } catch (error) {
    await store.settleCommand(commandId, 'PENDING', new Date());
    throw error;
  }
  const deps = { store, callback: new TaskCallback(sfnClient()), now: () => new Date() };
  const { answered, result } = await completeCommand(deps, claimed, invocation, claimed.taskToken);
  logger.info('step finished', { commandId, nodeId: claimed.nodeId, step: claimed.step, outcome: result.outcome, exitCode: result.exitCode, answered });
  return { answered };
};
