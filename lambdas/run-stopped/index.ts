import { ENDED_WITHOUT_CLEANUP } from '../../core/execution-status.js';
import { CLUSTER_PATTERN } from '../../core/input-schema.js';
import { interpretStepResult, type StepOutcome } from '../../core/step-result.js';
import { STEP_TIMEOUT_SECONDS } from '../../core/steps.js';
import { buildSummary, type Summary } from '../../core/summary.js';
import { FleetStore } from '../../adapters/store.js';
import { SsmCommandRunner } from '../../adapters/ssm.js';
import { documentClient, requireEnv, ssmClient } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';

/** The EventBridge event "Step Functions Execution Status Change" (fields we use). */
export interface ExecutionStatusChangeEvent {
  'detail-type'?: string;
  source?: string;
  detail: {
    executionArn: string;
    name: string;
    status: string;
    /** The execution input, as a JSON string. */
    input?: string | null;
    cause?: string | null;
  };
}


const FINAL_INVOCATION = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled', 'DeliveryTimedOut', 'ExecutionTimedOut', 'Undeliverable', 'Terminated']);

function clusterOf(input: string | null | undefined): string | null {
  try {
    const cluster = (JSON.parse(input ?? 'null') as { cluster?: unknown } | null)?.cluster;
    return typeof cluster === 'string' && CLUSTER_PATTERN.test(cluster) ? cluster : null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RunStoppedResult {
  cluster: string | null;
  maintenanceOff: 'not-needed' | StepOutcome;
  lockReleased: boolean;
  summary?: Summary;
}

/**
 * Keeps the promise of every failure path when an execution is stopped (StopExecution) or times out:
 * Step Functions ends such an execution at once, without its catch paths, so this function — invoked
 * by an EventBridge rule on the execution's status change — turns maintenance mode off on the core
 * node when the run had turned it on, releases the cluster lock, and records the run's summary.
 */
export const handler = async (event: ExecutionStatusChangeEvent): Promise<RunStoppedResult> => {
  const { name: runId, status } = event.detail;
  const cluster = clusterOf(event.detail.input);
  if (!ENDED_WITHOUT_CLEANUP.includes(status) || cluster === null) {
    logger.info('nothing to clean up', { runId, status, cluster });
    return { cluster, maintenanceOff: 'not-needed', lockReleased: false };
  }
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const run = await store.getRun(cluster, runId);
  let maintenanceOff: RunStoppedResult['maintenanceOff'] = 'not-needed';
  if (run !== null && run.coreNode !== '' && (await store.getCheckpoint(runId, run.coreNode, 'maintenance-on')) !== null) {
    // Maintenance mode was (being) turned on: turn it off, and wait for the node to say so.
    const runner = new SsmCommandRunner(ssmClient(), requireEnv('DOCUMENT_NAME'));
    const timeout = STEP_TIMEOUT_SECONDS['maintenance-off'];
    const startedAt = new Date().toISOString();
    const commandId = await runner.send(run.coreNode, {
      step: 'maintenance-off',
      targetVersion: run.targetVersion,
      artifactBaseUrl: requireEnv('ARTIFACT_BASE_URL'),
      httpsProxy: '',
      runId,
      executionTimeout: String(timeout),
    }, timeout);
    const deadline = Date.now() + (timeout + 30) * 1000;
    let invocation = await runner.invocation(commandId, run.coreNode).catch(() => null);
    while ((invocation === null || !FINAL_INVOCATION.has(invocation.status)) && Date.now() < deadline) {
      await sleep(Number(process.env.RUN_STOPPED_POLL_MS ?? 2000));
      invocation = await runner.invocation(commandId, run.coreNode).catch(() => null);
    }
    const result = interpretStepResult({
      step: 'maintenance-off',
      nodeId: run.coreNode,
      exitCode: invocation?.exitCode ?? null,
      stdout: invocation?.stdout ?? '',
      stderr: invocation?.stderr || `SSM status ${invocation?.status ?? 'unknown'}`,
      targetVersion: run.targetVersion,
    });
    await store.putCheckpoint(runId, {
      nodeId: run.coreNode,
      step: 'maintenance-off',
      status: result.outcome,
      exitCode: result.exitCode,
      warnings: result.warnings,
      outputTail: result.outputTail,
      details: result.details,
      startedAt,
      finishedAt: new Date().toISOString(),
    });
    maintenanceOff = result.outcome;
  }
  const lockReleased = await store.releaseLock(cluster, runId);
  let summary: Summary | undefined;
  if (run !== null) {
    const { checkpoints, outcomes } = await store.runRecords(runId);
    summary = buildSummary({
      run,
      checkpoints,
      outcomes,
      lockReleased,
      caught: { Error: status === 'ABORTED' ? 'ExecutionAborted' : 'ExecutionTimedOut', Cause: `the execution was ${status === 'ABORTED' ? 'stopped' : 'timed out'}${event.detail.cause ? `: ${event.detail.cause}` : ''}` },
      finishedAt: new Date().toISOString(),
    });
    await store.completeRun(summary);
  }
  logger.info('stopped run cleaned up', { runId, cluster, status, maintenanceOff, lockReleased });
  return { cluster, maintenanceOff, lockReleased, ...(summary ? { summary } : {}) };
};
