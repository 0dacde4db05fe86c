import { DescribeExecutionCommand, ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ENDED_WITHOUT_CLEANUP, clusterOf, type ExecutionStatusChangeEvent } from '../../core/execution-status.js';
import { stoppedRunAction } from '../../core/stopped-run.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, requireEnv, sfnClient } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';

export type { ExecutionStatusChangeEvent } from '../../core/execution-status.js';

export interface RunStoppedResult {
  cluster: string | null;
  /** What was done: nothing to do, the lock released (the run's own path cleaned up), or the cleanup started. */
  action: 'nothing' | 'lock-released' | 'cleanup-started' | 'cleanup-already-started';
  lockReleased: boolean;
  cleanupExecutionArn?: string;
}

/**
 * The execution's input, asked of Step Functions: the status-change event leaves it out when the escaped
 * input and output together pass 248 KiB (a long `nodes` list), and the cleanup needs its cluster.
 * https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html
 */
async function executionInput(executionArn: string): Promise<string | null> {
  const described = await sfnClient().send(new DescribeExecutionCommand({ executionArn }));
  return described.input ?? null;
}

/**
 * Invoked by the stop rule when an execution is stopped, times out, or fails with an error no Catch takes:
 * Step Functions ended it at once, without its catch paths. Rolling back the nodes it caught mid-upgrade may
 * take longer than any one Lambda invocation, so the cleanup runs as an execution of the cleanup state
 * machine, named after the run: a second delivery of the event starts no second cleanup.
 */
export const handler = async (event: ExecutionStatusChangeEvent): Promise<RunStoppedResult> => {
  const { name: runId, status } = event.detail;
  if (!ENDED_WITHOUT_CLEANUP.includes(status)) {
    logger.info('nothing to clean up', { runId, status });
    return { cluster: null, action: 'nothing', lockReleased: false };
  }
  const cluster = clusterOf(event.detail.input ?? (await executionInput(event.detail.executionArn)));
  if (cluster === null) {
    logger.info('nothing to clean up', { runId, status, cluster });
    return { cluster, action: 'nothing', lockReleased: false };
  }
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const facts = await store.runFacts(cluster, runId);
  const action = stoppedRunAction(facts, facts?.summarized === true);
  if (action.kind === 'release-lock') {
    const lockReleased = await store.releaseLock(cluster, runId);
    logger.info(action.reason === 'never-planned' ? 'the run ended before it was planned' : 'the run was already summarized: its own path cleaned up', {
      runId,
      cluster,
      status,
      lockReleased,
    });
    return { cluster, action: 'lock-released', lockReleased };
  }
  // The execution input may be 256 KiB: the cleanup needs only the cluster from it.
  const detail = { ...event.detail, input: JSON.stringify({ cluster }) };
  try {
    const started = await sfnClient().send(
      new StartExecutionCommand({
        stateMachineArn: requireEnv('CLEANUP_STATE_MACHINE_ARN'),
        name: runId,
        input: JSON.stringify({ detail }),
      }),
    );
    logger.info('cleanup started', { runId, cluster, status, cleanupExecutionArn: started.executionArn });
    return { cluster, action: 'cleanup-started', lockReleased: false, ...(started.executionArn ? { cleanupExecutionArn: started.executionArn } : {}) };
  } catch (error) {
    // An earlier delivery of this event started it (it may have finished since): one cleanup per run.
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
    logger.info('cleanup already started', { runId, cluster, status });
    return { cluster, action: 'cleanup-already-started', lockReleased: false };
  }
};
