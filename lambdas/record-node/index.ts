import type { RunContext } from '../../core/run-context.js';
import type { StepResult } from '../../core/step-result.js';
import type { CaughtError, NodeOutcome } from '../../core/summary.js';
import type { ApprovalDecision } from '../../core/approval.js';
import { NODE_PIPELINE } from '../../core/steps.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';

export interface RecordNodeEvent {
  /**
   * upgraded / skipped / failed; after an operator's decision: rolledBack (rollback or skip: the node is
   * back at its old version) or needsAttention (abort, or a rollback that failed).
   */
  action: 'upgraded' | 'skipped' | 'failed' | 'rolledBack' | 'needsAttention' | 'gate' | 'checkStop';
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
export class RunStoppedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunStopped';
  }
}

/**
 * Records how a node's part of the run ended, in the run and in the node's own record.
 * `gate`: may a node start (is the run stopping)? `checkStop`: throws RunStopped when a node stopped the run.
 */
export const handler = async (event: RecordNodeEvent): Promise<NodeOutcome | { go: boolean; reason?: string } | { stopped: false }> => {
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const { runId } = event.run;
  if (event.action === 'gate') {
    // Every node that starts renews the run's hold on the cluster lock; a run that lost it stops here.
    const renewed = await store.renewLock(event.run.cluster, runId, new Date(), Number(process.env.LOCK_TTL_SECONDS ?? 43_200));
    if (!renewed) {
      await store.markRunStopping(runId, `the cluster lock of ${event.run.cluster} is no longer held by this run (it was broken with unlock); no further node starts`, new Date().toISOString());
    }
  }
  if (event.action === 'gate' || event.action === 'checkStop') {
    const stop = await store.runStopping(runId);
    if (event.action === 'gate') return stop === null ? { go: true } : { go: false, reason: stop.reason };
    if (stop !== null) throw new RunStoppedError(stop.reason);
    return { stopped: false };
  }
  // Only this node's checkpoints: reading the whole run for every node was quadratic in the run's size.
  const mine = await store.nodeCheckpoints(runId, event.node.id);
  const checked = mine.find((c) => c.step === 'version-check')?.details?.version;
  const reported = typeof event.versionCheck?.details.version === 'string'
    ? event.versionCheck.details.version
    : typeof checked === 'string' ? checked : null;
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
      to: event.action === 'rolledBack' ? (typeof rolledBackTo === 'string' ? rolledBackTo : from) : failed !== undefined && !CHANGES_NODE.has(failed.step) && event.rollbackFailed !== true ? from : null,
      at,
      ...(failed ? { failedStep: failed.step } : {}),
      ...(decision && decision !== 'retry' ? { decision } : {}),
      ...(event.approval ? { decidedBy: event.approval.decidedBy, byTimeout: event.approval.byTimeout } : {}),
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
    const why = outcome.decision ? `${outcome.decision} decided${outcome.byTimeout ? ' by timeout' : ''} for ${outcome.nodeId}` : `${outcome.nodeId} ${outcome.status === 'NEEDS_ATTENTION' ? 'needs attention' : 'failed'}`;
    await store.markRunStopping(runId, `the run stopped: ${why}${outcome.failedStep ? ` after ${outcome.failedStep} failed` : ''}`, at);
  }
  logger.info('node recorded', { runId, ...outcome });
  return outcome;
};
