import type { RunContext } from '../../core/run-context.js';
import type { StepResult } from '../../core/step-result.js';
import type { CaughtError, NodeOutcome } from '../../core/summary.js';
import type { ApprovalDecision } from '../../core/approval.js';
import { NODE_PIPELINE } from '../../core/steps.js';
import type { GateAnswer } from '../../core/hold.js';
import type { PausedAnswer } from '../../core/pause.js';
import type { HealthAskAnswer } from '../../core/health.js';
import { FleetStore } from '../../adapters/store.js';
import { RunHolds } from './run-holds.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { Table } from '../../adapters/table.js';
import { WindowStore } from '../../adapters/window-store.js';
import { refusedByCutoff } from './cutoff.js';
import { logger } from '../../adapters/logger.js';
import { DEFAULT_LOCK_TTL_SECONDS } from '../../core/execution-timeout.js';

export interface RecordNodeEvent {
  /**
   * upgraded / skipped / failed; after an operator's decision: rolledBack (rollback or skip: the node is
   * back at its old version) or needsAttention (abort, or a rollback that failed).
   */
  action:
    'upgraded' | 'skipped' | 'failed' | 'rolledBack' | 'needsAttention' | 'gate' | 'hold' | 'checkStop' | 'canaryDecided' | 'checkHealth' | 'healthDecided';
  /** hold: the token of the node's waiting state, answered when no question holds the run any more. */
  taskToken?: string;
  /** hold: the nodes whose questions the gate found open. */
  waitingFor?: string[];
  approval?: ApprovalDecision;
  rollbackFailed?: boolean;
  /** Roles may be left out (the check before the window knows only ids): the run's plan has them. */
  /** `resumedFrom`: a node resumed after an earlier run switched it records the version it ran before that. */
  node: { id: string; roles?: string[]; resumedFrom?: string };
  run: RunContext;
  versionCheck?: StepResult;
  error?: CaughtError;
}

/** Steps after which the node may have changed: a failure there leaves its version unknown until rollback. */
const CHANGES_NODE = new Set(NODE_PIPELINE.slice(NODE_PIPELINE.indexOf('upgrade')));

/** A group stops the run when one of its nodes marked it stopping (after its in-flight nodes finished). */
export class RunStopped extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunStopped';
  }
}

/**
 * Records how a node's part of the run ended, in the run and in the node's own record.
 * `gate`: may a node start (is the run stopping, held by an open question or a health alarm, or paused)?
 * `checkHealth`: the health alarms after a node finished; `healthDecided`: the operator's continue or abort on them. `hold`: the node waits for
 * the open questions or the pause (a task token). `checkStop`: throws RunStopped when a node stopped the run.
 */
export const handler = async (
  event: RecordNodeEvent,
): Promise<
  | NodeOutcome
  | (NodeOutcome & { askCanary: true })
  | GateAnswer
  | PausedAnswer
  | HealthAskAnswer
  | { held: boolean }
  | { stopped: false }
  | { decision: string }
  | { askHealth: boolean }
> => {
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const holds = new RunHolds(store, requireEnv('TABLE_NAME'), event.run);
  const { runId } = event.run;
  if (event.action === 'gate') {
    // Every node that starts renews the run's hold on the cluster lock; a run that lost it stops here.
    const renewed = await store.renewLock(event.run.cluster, runId, new Date(), Number(process.env.LOCK_TTL_SECONDS ?? DEFAULT_LOCK_TTL_SECONDS));
    if (!renewed) {
      await store.markRunStopping(
        runId,
        `the cluster lock of ${event.run.cluster} is no longer held by this run (it was broken with unlock); no further node starts`,
        new Date().toISOString(),
      );
    }
    const gate = await holds.gate(event.node.id);
    // A node that may start must also fit before the window cutoff, if the run has one.
    const windows = new WindowStore(new Table(documentClient(), requireEnv('TABLE_NAME')));
    const answer = gate.go ? ((await refusedByCutoff(store, windows, event.run, event.node.id, new Date())) ?? gate) : gate;
    if (answer.go) await store.markStarted(runId, event.node.id, new Date().toISOString());
    if ('held' in answer) logger.info('node held: waiting for a decision', { runId, nodeId: event.node.id, waitingFor: answer.waitingFor });
    if ('paused' in answer) logger.info('node held: the run is paused', { runId, nodeId: event.node.id, until: answer.until });
    return answer;
  }
  if (event.action === 'hold') {
    if (event.taskToken === undefined) throw new Error('hold needs the task token of the waiting state');
    // Registered before looking again: a question answered in between either sees this node or is seen here.
    await store.holdNode(runId, event.node.id, event.taskToken, event.waitingFor ?? [], new Date().toISOString());
    await holds.release();
    return { held: true };
  }
  if (event.action === 'canaryDecided') {
    // The operator's continue or abort after the canary (or abort by timeout, or no usable decision: abort).
    return holds.canaryDecided(event.approval?.decision, event.approval?.decidedBy ?? 'unknown', event.approval?.byTimeout !== false);
  }
  if (event.action === 'checkHealth') return holds.checkHealth(event.node.id);
  if (event.action === 'healthDecided') {
    // continue or abort on a firing alarm (abort by timeout, or no usable decision: abort).
    return holds.healthDecided(event.approval?.decision, event.approval?.decidedBy ?? 'unknown', event.approval?.byTimeout !== false);
  }
  if (event.action === 'checkStop') {
    const stop = await store.runStopping(runId);
    if (stop !== null) throw new RunStopped(stop.reason);
    return { stopped: false };
  }
  // Only this node's checkpoints: reading the whole run for every node was quadratic in the run's size.
  const mine = await store.nodeCheckpoints(runId, event.node.id);
  const checked = mine.find((c) => c.step === 'version-check')?.details?.version;
  const reported = typeof event.versionCheck?.details.version === 'string' ? event.versionCheck.details.version : typeof checked === 'string' ? checked : null;
  const from = event.node.resumedFrom ?? reported;
  const at = new Date().toISOString();
  let outcome: NodeOutcome;
  if (event.action === 'upgraded') {
    const validated = mine.find((c) => c.step === 'post-upgrade-validation')?.details?.version;
    outcome = { nodeId: event.node.id, status: 'UPGRADED', from, to: typeof validated === 'string' ? validated : event.run.targetVersion, at };
  } else if (event.action === 'skipped') {
    outcome = { nodeId: event.node.id, status: 'SKIPPED', from, to: from, at };
  } else if (event.action === 'rolledBack' || event.action === 'needsAttention') {
    const failed = mine.find((c) => c.status === 'FAILED' && c.step !== 'rollback');
    const rolledBackTo = mine.find((c) => c.step === 'rollback' && c.status === 'SUCCEEDED')?.details?.version;
    const decision = event.approval?.decision;
    outcome = {
      nodeId: event.node.id,
      status: event.action === 'rolledBack' ? 'ROLLED_BACK' : 'NEEDS_ATTENTION',
      from,
      // Rolled back: where the rollback says the node is. Needing attention: unknown if it may have changed.
      to:
        event.action === 'rolledBack'
          ? typeof rolledBackTo === 'string'
            ? rolledBackTo
            : from
          : failed !== undefined && !CHANGES_NODE.has(failed.step) && event.rollbackFailed !== true
            ? from
            : null,
      at,
      ...(failed ? { failedStep: failed.step } : {}),
      ...(decision && decision !== 'retry' && decision !== 'continue' ? { decision } : {}),
      ...(event.approval ? { decidedBy: event.approval.decidedBy, byTimeout: event.approval.byTimeout } : {}),
      ...(event.approval?.decidedIdentity ? { decidedIdentity: event.approval.decidedIdentity } : {}),
      ...(event.rollbackFailed ? { rollbackFailed: true } : {}),
    };
  } else {
    // A step that timed out never got its final checkpoint: write it now so DynamoDB tells the truth.
    const stuck = mine.find((c) => c.status === 'RUNNING');
    if (stuck !== undefined) {
      await store.putCheckpoint(runId, {
        ...stuck,
        status: 'FAILED',
        outputTail: `${event.error?.Error ?? 'failed'}: ${event.error?.Cause ?? 'no result from the node'}`.slice(0, 2000),
        finishedAt: at,
      });
    }
    const failed = stuck ?? mine.find((c) => c.status === 'FAILED');
    const changed = failed !== undefined && CHANGES_NODE.has(failed.step);
    outcome = { nodeId: event.node.id, status: 'FAILED', from, to: changed ? null : from, at, ...(failed ? { failedStep: failed.step } : {}) };
  }
  const roles = event.node.roles ?? (await store.plannedRoles(runId, event.node.id)) ?? [];
  await store.recordOutcome(event.run.cluster, runId, roles, outcome);
  // Anything but success, a skip at the target, or an operator's skip stops the rollout.
  const continues = outcome.status === 'UPGRADED' || outcome.status === 'SKIPPED' || (outcome.status === 'ROLLED_BACK' && outcome.decision === 'skip');
  if (!continues) {
    const why = outcome.decision
      ? `${outcome.decision} decided${outcome.byTimeout ? ' by timeout' : ''} for ${outcome.nodeId}`
      : `${outcome.nodeId} ${outcome.status === 'NEEDS_ATTENTION' ? 'needs attention' : 'failed'}`;
    await store.markRunStopping(runId, `the run stopped: ${why}${outcome.failedStep ? ` after ${outcome.failedStep} failed` : ''}`, at);
  }
  // The node's question (if it was asked) is answered: held nodes go on, or end unstarted if the run stops.
  const wasHolding = await store.closeHold(runId, event.node.id);
  if (wasHolding || !continues) await holds.release();
  logger.info('node recorded', { runId, ...outcome });
  // The node that completes the canary asks continue-or-abort next (the workflow's "Is the canary complete?").
  if (continues && (await holds.canaryDone(event.node.id))) return { ...outcome, askCanary: true };
  return outcome;
};
