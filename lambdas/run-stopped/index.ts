import { ENDED_WITHOUT_CLEANUP, endedWithoutCleanup } from '../../core/execution-status.js';
import { CLUSTER_PATTERN } from '../../core/input-schema.js';
import { interpretStepResult, type StepOutcome, type StepResult } from '../../core/step-result.js';
import { NODE_PIPELINE, STEP_TIMEOUT_SECONDS, deliveryTimeoutSeconds, type StepId } from '../../core/steps.js';
import { buildSummary, type Summary } from '../../core/summary.js';
import { FleetStore } from '../../adapters/store.js';
import { SsmCommandRunner } from '../../adapters/ssm.js';
import { documentClient, logsClient, requireEnv, ssmClient } from '../../adapters/aws-clients.js';
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
    /** The error and cause the execution ended with (FAILED: `States.DataLimitExceeded`, …; a stop's own). */
    error?: string | null;
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

/** Steps after which a node may be drained or changed: from retire on (the check phase changes nothing). */
const CHANGES_NODE = new Set<StepId>(NODE_PIPELINE.slice(NODE_PIPELINE.indexOf('retire')));

type StoredRun = NonNullable<Awaited<ReturnType<FleetStore['getRun']>>>;

/** The part of Lambda's context the cleanup reads: how long this invocation may still run. */
export interface InvocationTime {
  getRemainingTimeInMillis(): number;
}

/**
 * The cleanup ran out of this invocation's time: it fails, Lambda retries the event asynchronously, and the
 * retry goes on where this one stopped (a command already sent is waited for, never sent again).
 */
export class CleanupContinuesError extends Error {
  constructor(what: string) {
    super(`the cleanup continues in the next invocation: ${what}`);
    this.name = 'CleanupContinues';
  }
}

/** Leaves this much of the invocation for recording what is done before Lambda ends it. */
const TIME_MARGIN_MS = 30_000;

function checkTime(context: InvocationTime | undefined, what: string): void {
  if (context !== undefined && context.getRemainingTimeInMillis() < TIME_MARGIN_MS) throw new CleanupContinuesError(what);
}

/** Waits until no step of the node is still running (a step the stop caught finishes on the node first); reads the node's items only. */
async function settled(store: FleetStore, runId: string, nodeId: string, context: InvocationTime | undefined, only?: StepId): Promise<void> {
  const deadline = Date.now() + 30 * 60 * 1000;
  for (;;) {
    const mine = only === undefined ? await store.nodeCheckpoints(runId, nodeId) : [await store.getCheckpoint(runId, nodeId, only)];
    // A rollback under way (this cleanup's, from an invocation that ran out of time, or the run's own) is
    // waited for by runAndWait, which takes it over rather than sending another.
    const running = mine.some((c) => c?.status === 'RUNNING' && c.step !== 'rollback');
    if (!running || Date.now() > deadline) return;
    checkTime(context, `waiting for ${nodeId}'s step to finish`);
    await sleep(Number(process.env.RUN_STOPPED_POLL_MS ?? 2000));
  }
}

/**
 * Runs one runbook step on a node through SSM, waits for it, and checkpoints the result. The command is
 * recorded (a RUNNING checkpoint) as soon as it is sent: an invocation that runs out of time, and its retry,
 * wait for that command instead of sending a second one to the node.
 */
async function runAndWait(store: FleetStore, runner: SsmCommandRunner, run: StoredRun, nodeId: string, step: StepId, context: InvocationTime | undefined): Promise<StepResult> {
  const timeout = STEP_TIMEOUT_SECONDS[step];
  const earlier = await store.getCheckpoint(run.runId, nodeId, step);
  const resumed = earlier?.status === 'RUNNING' && earlier.commandId !== undefined;
  const startedAt = resumed ? earlier.startedAt : new Date().toISOString();
  const commandId = resumed ? (earlier.commandId as string) : await runner.send(nodeId, {
    step,
    targetVersion: run.targetVersion,
    artifactBaseUrl: requireEnv('ARTIFACT_BASE_URL'),
    httpsProxy: '',
    runId: run.runId,
    executionTimeout: String(timeout),
  });
  if (!resumed) await store.putCheckpoint(run.runId, { nodeId, step, status: 'RUNNING', exitCode: null, warnings: [], startedAt, commandId, timeoutSeconds: timeout });
  const deadline = Date.parse(startedAt) + (deliveryTimeoutSeconds(timeout) + timeout + 30) * 1000;
  let invocation = await runner.invocation(commandId, nodeId).catch(() => null);
  while ((invocation === null || !FINAL_INVOCATION.has(invocation.status)) && Date.now() < deadline) {
    checkTime(context, `waiting for ${step} on ${nodeId} (command ${commandId})`);
    await sleep(Number(process.env.RUN_STOPPED_POLL_MS ?? 2000));
    invocation = await runner.invocation(commandId, nodeId).catch(() => null);
  }
  const result = interpretStepResult({
    step,
    nodeId,
    exitCode: invocation?.exitCode ?? null,
    stdout: invocation?.stdout ?? '',
    stderr: invocation?.stderr || `SSM status ${invocation?.status ?? 'unknown'}`,
    targetVersion: run.targetVersion,
  });
  await store.putCheckpoint(run.runId, {
    nodeId,
    step,
    status: result.outcome,
    exitCode: result.exitCode,
    warnings: result.warnings,
    outputTail: result.outputTail,
    details: result.details,
    startedAt,
    finishedAt: new Date().toISOString(),
    commandId,
  });
  return result;
}

export interface RunStoppedResult {
  cluster: string | null;
  /** Nodes caught mid-upgrade, rolled back to their previous version. */
  rolledBack: { nodeId: string; outcome: StepOutcome; version: string | null }[];
  maintenanceOff: 'not-needed' | StepOutcome;
  lockReleased: boolean;
  summary?: Summary;
}

/** Maintenance-off outcomes after which the cluster is out of maintenance mode. */
const MAINTENANCE_OFF = new Set(['SUCCEEDED', 'NOTHING_TO_DO']);

/**
 * Keeps the promise of every failure path when an execution is stopped (StopExecution), times out, or fails
 * with an error no Catch takes: Step Functions ends such an execution at once, without its catch paths, so
 * this function — invoked by an EventBridge rule on the execution's status change — turns maintenance mode
 * off on the core node when the run had turned it on, releases the cluster lock, and records the run's summary.
 * Idempotent: a run whose summary is recorded (its own failure path finished, or an earlier delivery of this
 * event did) only has its lock released, which is a no-op when it is; maintenance mode already switched
 * off is not switched off again.
 */
export const handler = async (event: ExecutionStatusChangeEvent, context?: InvocationTime): Promise<RunStoppedResult> => {
  const { name: runId, status } = event.detail;
  const cluster = clusterOf(event.detail.input);
  if (!ENDED_WITHOUT_CLEANUP.includes(status) || cluster === null) {
    logger.info('nothing to clean up', { runId, status, cluster });
    return { cluster, rolledBack: [], maintenanceOff: 'not-needed', lockReleased: false };
  }
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const run = await store.getRun(cluster, runId);
  const ended = endedWithoutCleanup(status, event.detail.error, event.detail.cause);
  if (run?.summary !== undefined) {
    const lockReleased = await store.releaseLock(cluster, runId);
    logger.info('the run was already summarized: its own path cleaned up', { runId, cluster, status, lockReleased });
    return { cluster, rolledBack: [], maintenanceOff: 'not-needed', lockReleased };
  }
  const rolledBack: RunStoppedResult['rolledBack'] = [];
  let maintenanceOff: RunStoppedResult['maintenanceOff'] = 'not-needed';
  if (run !== null) {
    const runner = new SsmCommandRunner(ssmClient(), requireEnv('DOCUMENT_NAME'), requireEnv('COMMAND_OUTPUT_LOG_GROUP'), logsClient());
    // Nodes the stop caught between retire and their outcome may be drained or half-switched: roll them
    // back to the version they ran before (the runbook's rollback is safe after a failure at any step).
    const { checkpoints, outcomes } = await store.runRecords(runId);
    const interrupted = [...new Set(checkpoints.filter((c) => CHANGES_NODE.has(c.step)).map((c) => c.nodeId))]
      .filter((id) => !outcomes.some((o) => o.nodeId === id));
    for (const nodeId of interrupted) {
      await settled(store, runId, nodeId, context);
      const result = await runAndWait(store, runner, run, nodeId, 'rollback', context);
      const version = typeof result.details.version === 'string' ? result.details.version : null;
      rolledBack.push({ nodeId, outcome: result.outcome, version });
      await store.recordOutcome(cluster, runId, run.roles[nodeId] ?? [], {
        nodeId,
        status: 'FAILED',
        from: run.plannedFrom[nodeId] ?? version,
        to: result.outcome === 'FAILED' ? null : version,
        failedStep: 'rollback',
        reason: 'the run was stopped during this node\'s upgrade; rolled back',
        at: new Date().toISOString(),
      });
    }
    // A decision the run waited for can no longer reach it: close its approvals, so that neither the page
    // nor `approvals` offers them; the nodes they were about were rolled back above.
    for (const approval of (await store.pendingApprovals()).filter((a) => a.runId === runId)) {
      await store.claimApproval(approval.approvalId, { decision: 'rollback', decidedBy: ended.decidedBy, decidedAt: new Date().toISOString(), byTimeout: false });
    }
    // Its questions and the nodes they held ended with the execution: closed, and each wait recorded as ended.
    const waitsEnded = new Date().toISOString();
    for (const hold of await store.openHolds(runId)) await store.closeHold(runId, hold.nodeId);
    for (const held of await store.heldNodes(runId)) await store.releaseHeldNode(runId, held, waitsEnded);
    if (run.coreNode !== '' && (await store.getCheckpoint(runId, run.coreNode, 'maintenance-on')) !== null) {
      // Maintenance mode was (being) turned on: turn it off, and wait for the node to say so — unless the run's
      // failure path already did (a FAILED run whose summary could not be written).
      await settled(store, runId, run.coreNode, context, 'maintenance-on');
      const off = await store.getCheckpoint(runId, run.coreNode, 'maintenance-off');
      if (off === null || !MAINTENANCE_OFF.has(off.status)) maintenanceOff = (await runAndWait(store, runner, run, run.coreNode, 'maintenance-off', context)).outcome;
    }
  }
  const lockReleased = await store.releaseLock(cluster, runId);
  let summary: Summary | undefined;
  if (run !== null) {
    const { checkpoints, outcomes, held } = await store.runRecords(runId);
    summary = buildSummary({
      run,
      checkpoints,
      outcomes,
      held,
      lockReleased,
      caught: { Error: ended.error, Cause: ended.cause },
      finishedAt: new Date().toISOString(),
    });
    await store.completeRun(summary);
  }
  logger.info('stopped run cleaned up', { runId, cluster, status, rolledBack, maintenanceOff, lockReleased });
  return { cluster, rolledBack, maintenanceOff, lockReleased, ...(summary ? { summary } : {}) };
};
