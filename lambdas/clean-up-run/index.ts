import { ENDED_WITHOUT_CLEANUP, clusterOf, endedWithoutCleanup, type ExecutionStatusChangeEvent } from '../../core/execution-status.js';
import { interpretStepResult, resultFromCheckpoint, type StepOutcome, type StepResult } from '../../core/step-result.js';
import { NODE_PIPELINE, STEP_TIMEOUT_SECONDS, unresponsiveAfterSeconds, type StepId } from '../../core/steps.js';
import { buildSummary, compactSummary, type Summary } from '../../core/summary.js';
import { FleetStore } from '../../adapters/store.js';
import { PauseStore } from '../../adapters/pause-store.js';
import { HealthStore } from '../../adapters/health-store.js';
import { Table } from '../../adapters/table.js';
import { SsmCommandRunner } from '../../adapters/ssm.js';
import { FINAL_COMMAND_STATUSES } from '../../adapters/command-completion.js';
import { documentClient, logsClient, requireEnv, ssmClient } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Steps after which a node may be drained or changed: from retire on (the check phase changes nothing). */
const CHANGES_NODE = new Set<StepId>(NODE_PIPELINE.slice(NODE_PIPELINE.indexOf('retire')));

type StoredRun = NonNullable<Awaited<ReturnType<FleetStore['getRun']>>>;

/** The part of Lambda's context the cleanup reads: how long this invocation may still run. */
export interface InvocationTime {
  getRemainingTimeInMillis(): number;
}

/**
 * The cleanup ran out of this invocation's time: the handler returns `done: false`, and the cleanup state
 * machine invokes it again, which goes on where this one stopped (a command already sent is waited for,
 * never sent again).
 */
class CleanupContinues extends Error {
  constructor(readonly waitingFor: string) {
    super(`the cleanup continues in the next invocation: ${waitingFor}`);
    this.name = 'CleanupContinues';
  }
}

/** Leaves this much of the invocation for recording what is done before Lambda ends it. */
const TIME_MARGIN_MS = 30_000;

function checkTime(context: InvocationTime | undefined, what: string): void {
  if (context !== undefined && context.getRemainingTimeInMillis() < TIME_MARGIN_MS) throw new CleanupContinues(what);
}

/** When a step's command must have ended, delivered late or not: past it, the cleanup stops waiting for it. */
function stepDeadline(startedAt: string, timeoutSeconds: number): number {
  return Date.parse(startedAt) + unresponsiveAfterSeconds(timeoutSeconds) * 1000;
}

/**
 * Waits until no step of the node is still running (a step the stop caught finishes on the node first);
 * reads the node's items only. How long is the step's own bound, not the invocation's, which may be a later one.
 */
async function settled(store: FleetStore, runId: string, nodeId: string, context: InvocationTime | undefined, only?: StepId): Promise<void> {
  for (;;) {
    const mine = only === undefined ? await store.nodeCheckpoints(runId, nodeId) : [await store.getCheckpoint(runId, nodeId, only)];
    // A rollback under way (this cleanup's, from an invocation that ran out of time, or the run's own) is
    // waited for by runAndWait, which takes it over rather than sending another.
    const running = mine
      .filter((c) => c?.status === 'RUNNING' && c.step !== 'rollback')
      .filter((c) => c !== null && Date.now() < stepDeadline(c.startedAt, c.timeoutSeconds ?? STEP_TIMEOUT_SECONDS[c.step]));
    if (running.length === 0) return;
    checkTime(context, `waiting for ${nodeId}'s step to finish`);
    await sleep(Number(process.env.RUN_STOPPED_POLL_MS ?? 2000));
  }
}

/**
 * Runs one runbook step on a node through SSM, waits for it, and checkpoints the result. The command is
 * recorded (a RUNNING checkpoint) as soon as it is sent: an invocation that runs out of time, and its retry,
 * wait for that command instead of sending a second one to the node.
 */
async function runAndWait(
  store: FleetStore,
  runner: SsmCommandRunner,
  run: StoredRun,
  nodeId: string,
  step: StepId,
  context: InvocationTime | undefined,
): Promise<StepResult> {
  const timeout = STEP_TIMEOUT_SECONDS[step];
  const earlier = await store.getCheckpoint(run.runId, nodeId, step);
  // Done already (the run's own rollback finished just before the stop, or an earlier invocation's whose
  // record of the outcome failed): never a second rollback on the node.
  if (earlier !== null && earlier.status !== 'RUNNING' && earlier.status !== 'FAILED') return resultFromCheckpoint(earlier);
  const resumed = earlier?.status === 'RUNNING' && earlier.commandId !== undefined;
  const startedAt = resumed ? earlier.startedAt : new Date().toISOString();
  const commandId = resumed
    ? (earlier.commandId as string)
    : await runner.send(nodeId, {
        step,
        targetVersion: run.targetVersion,
        artifactBaseUrl: requireEnv('ARTIFACT_BASE_URL'),
        httpsProxy: '',
        runId: run.runId,
        executionTimeout: String(timeout),
      });
  if (!resumed)
    await store.putCheckpoint(run.runId, { nodeId, step, status: 'RUNNING', exitCode: null, warnings: [], startedAt, commandId, timeoutSeconds: timeout });
  const deadline = stepDeadline(startedAt, timeout);
  let invocation = await runner.invocation(commandId, nodeId).catch(() => null);
  while ((invocation === null || !FINAL_COMMAND_STATUSES.has(invocation.status)) && Date.now() < deadline) {
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

export interface CleanupResult {
  /** False: this invocation ran out of time; the cleanup state machine invokes the function again. */
  done: boolean;
  /** What the next invocation goes on with (done: false). */
  waitingFor?: string;
  cluster: string | null;
  /** Nodes caught mid-upgrade, rolled back to their previous version. */
  rolledBack: { nodeId: string; outcome: StepOutcome; version: string | null }[];
  maintenanceOff: 'not-needed' | StepOutcome;
  lockReleased: boolean;
  /** The run's status as its recorded summary says (the summary itself is in DynamoDB: it may be large). */
  status?: Summary['status'];
}

/** Maintenance-off outcomes after which the cluster is out of maintenance mode. */
const MAINTENANCE_OFF = new Set(['SUCCEEDED', 'NOTHING_TO_DO']);

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
  const run = await store.getRun(cluster, runId);
  const ended = endedWithoutCleanup(status, event.detail.error, event.detail.cause);
  if (run?.summary !== undefined) {
    const lockReleased = await store.releaseLock(cluster, runId);
    logger.info('the run was already summarized: its own path cleaned up', { runId, cluster, status, lockReleased });
    return { done: true, cluster, rolledBack: [], maintenanceOff: 'not-needed', lockReleased };
  }
  const rolledBack: CleanupResult['rolledBack'] = [];
  let maintenanceOff: CleanupResult['maintenanceOff'] = 'not-needed';
  if (run !== null) {
    const runner = new SsmCommandRunner(ssmClient(), requireEnv('DOCUMENT_NAME'), requireEnv('COMMAND_OUTPUT_LOG_GROUP'), logsClient());
    // Nodes the stop caught between retire and their outcome may be drained or half-switched: roll them
    // back to the version they ran before (the runbook's rollback is safe after a failure at any step).
    const { checkpoints, outcomes } = await store.runRecords(runId);
    const interrupted = [...new Set(checkpoints.filter((c) => CHANGES_NODE.has(c.step)).map((c) => c.nodeId))].filter(
      (id) => !outcomes.some((o) => o.nodeId === id),
    );
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
        reason: "the run was stopped during this node's upgrade; rolled back",
        at: new Date().toISOString(),
      });
    }
    // A decision the run waited for can no longer reach it: close its approvals, so that neither the page
    // nor `approvals` offers them; the nodes they were about were rolled back above.
    for (const approval of (await store.pendingApprovals()).filter((a) => a.runId === runId)) {
      await store.claimApproval(approval.approvalId, {
        decision: 'rollback',
        decidedBy: ended.decidedBy,
        decidedAt: new Date().toISOString(),
        byTimeout: false,
      });
    }
    // Its questions and the nodes they held ended with the execution: closed, and each wait recorded as ended.
    const waitsEnded = new Date().toISOString();
    for (const hold of await store.openHolds(runId)) await store.closeHold(runId, hold.nodeId);
    for (const held of await store.heldNodes(runId)) await store.releaseHeldNode(runId, held, waitsEnded);
    await new HealthStore(new Table(documentClient(), requireEnv('TABLE_NAME'))).close(runId, ended.decidedBy, waitsEnded);
    if (run.coreNode !== '' && (await store.getCheckpoint(runId, run.coreNode, 'maintenance-on')) !== null) {
      // Maintenance mode was (being) turned on: turn it off, and wait for the node to say so — unless the run's
      // failure path already did (a FAILED run whose summary could not be written).
      await settled(store, runId, run.coreNode, context, 'maintenance-on');
      const off = await store.getCheckpoint(runId, run.coreNode, 'maintenance-off');
      if (off === null || !MAINTENANCE_OFF.has(off.status))
        maintenanceOff = (await runAndWait(store, runner, run, run.coreNode, 'maintenance-off', context)).outcome;
    }
  }
  const lockReleased = await store.releaseLock(cluster, runId);
  let summary: Summary | undefined;
  if (run !== null) {
    const { checkpoints, outcomes, held } = await store.runRecords(runId);
    const pause = await new PauseStore(new Table(documentClient(), requireEnv('TABLE_NAME'))).settle(runId, new Date().toISOString());
    // Compacted as the run's own summary is: the run record is one DynamoDB item (400 KB).
    summary = compactSummary(
      buildSummary({
        run,
        checkpoints,
        outcomes,
        held,
        lockReleased,
        caught: { Error: ended.error, Cause: ended.cause },
        // A pause still open ends with the execution.
        ...(pause ? { pause } : {}),
        finishedAt: new Date().toISOString(),
      }),
    );
    await store.completeRun(summary);
  }
  logger.info('stopped run cleaned up', { runId, cluster, status, rolledBack, maintenanceOff, lockReleased });
  return { done: true, cluster, rolledBack, maintenanceOff, lockReleased, ...(summary ? { status: summary.status } : {}) };
}
