import { ENDED_WITHOUT_CLEANUP, clusterOf, endedWithoutCleanup, type ExecutionStatusChangeEvent } from '../../core/execution-status.js';
import { stoppedRunAction, type RolledBackNode } from '../../core/stopped-run.js';
import type { StepOutcome } from '../../core/step-result.js';
import type { Summary } from '../../core/summary.js';
import { FleetStore } from '../../adapters/store.js';
import { SsmCommandRunner } from '../../adapters/ssm.js';
import { documentClient, logsClient, requireEnv, ssmClient } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { CleanupContinues, type InvocationTime } from './step-runner.js';
import { closeWaits, recordSummary, rollBackInterrupted, turnMaintenanceOff } from './cleanup.js';

export type { InvocationTime } from './step-runner.js';

export interface CleanupResult {
  /** False: this invocation ran out of time; the cleanup state machine invokes the function again. */
  done: boolean;
  /** What the next invocation goes on with (done: false). */
  waitingFor?: string;
  cluster: string | null;
  /** Nodes caught mid-upgrade, rolled back to their previous version. */
  rolledBack: RolledBackNode[];
  maintenanceOff: 'not-needed' | StepOutcome;
  lockReleased: boolean;
  /** The run's status as its recorded summary says (the summary itself is in DynamoDB: it may be large). */
  status?: Summary['status'];
}

/**
 * Keeps the promise of every failure path when an execution is stopped (StopExecution), times out, or fails
 * with an error no Catch takes: Step Functions ends such an execution at once, without its catch paths, so
 * the cleanup state machine (started by `run-stopped` on the execution's status change) invokes this
 * function until it is done: nodes caught mid-upgrade are rolled back, maintenance mode is turned off on the
 * core node when the run had turned it on, the cluster lock is released, and the run's summary is recorded.
 * Each invocation goes on from what DynamoDB says is done, so it may take as long as the rollbacks take.
 */
export const handler = async (event: ExecutionStatusChangeEvent, context?: InvocationTime): Promise<CleanupResult> => {
  try {
    return await cleanUp(event, context);
  } catch (error) {
    if (!(error instanceof CleanupContinues)) throw error;
    logger.info('the cleanup continues in the next invocation', { runId: event.detail.name, waitingFor: error.waitingFor });
    return {
      done: false,
      waitingFor: error.waitingFor,
      cluster: clusterOf(event.detail.input),
      rolledBack: [],
      maintenanceOff: 'not-needed',
      lockReleased: false,
    };
  }
};

async function cleanUp(event: ExecutionStatusChangeEvent, context: InvocationTime | undefined): Promise<CleanupResult> {
  const { name: runId, status } = event.detail;
  const cluster = clusterOf(event.detail.input);
  if (!ENDED_WITHOUT_CLEANUP.includes(status) || cluster === null) {
    logger.info('nothing to clean up', { runId, status, cluster });
    return { done: true, cluster, rolledBack: [], maintenanceOff: 'not-needed', lockReleased: false };
  }
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const stored = await store.getRun(cluster, runId);
  const action = stoppedRunAction(stored, stored?.summary !== undefined);
  if (action.kind === 'release-lock') {
    const lockReleased = await store.releaseLock(cluster, runId);
    const said = action.reason === 'summarized' ? 'the run was already summarized: its own path cleaned up' : 'the run ended before it was planned';
    logger.info(said, { runId, cluster, status, lockReleased });
    return { done: true, cluster, rolledBack: [], maintenanceOff: 'not-needed', lockReleased };
  }
  const { run } = action;
  const ended = endedWithoutCleanup(status, event.detail.error, event.detail.cause);
  const runner = new SsmCommandRunner(ssmClient(), requireEnv('DOCUMENT_NAME'), requireEnv('COMMAND_OUTPUT_LOG_GROUP'), logsClient());
  const rolledBack = await rollBackInterrupted(store, runner, run, context);
  await closeWaits(store, runId, ended);
  const maintenanceOff = await turnMaintenanceOff(store, runner, run, context);
  const lockReleased = await store.releaseLock(cluster, runId);
  const summary = await recordSummary(store, run, lockReleased, ended);
  logger.info('stopped run cleaned up', { runId, cluster, status, rolledBack, maintenanceOff, lockReleased });
  return { done: true, cluster, rolledBack, maintenanceOff, lockReleased, status: summary.status };
}
