import type { ApprovalDecision } from './approval.js';
import { NODE_PIPELINE } from './steps.js';
import type { CaughtError, NodeOutcome, StepCheckpoint } from './summary.js';

/**
 * How a node's part of the run ended, as the workflow reports it: upgraded / skipped / failed; after an operator's
 * decision, rolledBack (rollback or skip: the node is back at its old version) or needsAttention (abort, or a
 * rollback that failed).
 */
export type OutcomeAction = 'upgraded' | 'skipped' | 'failed' | 'rolledBack' | 'needsAttention';

/** What is known about the node when its part ends. */
export interface OutcomeFacts {
  action: OutcomeAction;
  nodeId: string;
  /** The node's own checkpoints in this run. */
  checkpoints: readonly StepCheckpoint[];
  /** The version check's result, when the state data still carries it. */
  versionCheck?: { details: Record<string, unknown> };
  /** A node resumed after an earlier run switched it: the version it ran before that run. */
  resumedFrom?: string;
  targetVersion: string;
  approval?: ApprovalDecision;
  rollbackFailed?: boolean;
  /** What the state machine caught, for a step that never reported. */
  error?: CaughtError;
  at: string;
}

/** The outcome to record, and the checkpoint of a step that timed out, to be written as failed (DynamoDB tells the truth). */
export interface OutcomeDecision {
  outcome: NodeOutcome;
  stuck?: StepCheckpoint;
}

/** Steps after which the node may have changed: a failure there leaves its version unknown until rollback. */
const CHANGES_NODE = new Set(NODE_PIPELINE.slice(NODE_PIPELINE.indexOf('upgrade')));

const versionIn = (details: Record<string, unknown> | undefined): string | undefined => (typeof details?.version === 'string' ? details.version : undefined);

/**
 * A node's outcome from its checkpoints: `from` is the version it reported (or ran before a resumed run), `to`
 * the version a step reported it at, the target once validated, `from` when nothing changed it, and null when
 * it may have changed and nothing says to what.
 */
export function nodeOutcome(facts: OutcomeFacts): OutcomeDecision {
  const { action, nodeId, checkpoints: mine, approval, at } = facts;
  const reported = versionIn(facts.versionCheck?.details) ?? versionIn(mine.find((c) => c.step === 'version-check')?.details) ?? null;
  const from = facts.resumedFrom ?? reported;
  if (action === 'upgraded') {
    const validated = versionIn(mine.find((c) => c.step === 'post-upgrade-validation')?.details);
    return { outcome: { nodeId, status: 'UPGRADED', from, to: validated ?? facts.targetVersion, at } };
  }
  if (action === 'skipped') return { outcome: { nodeId, status: 'SKIPPED', from, to: from, at } };
  if (action === 'rolledBack' || action === 'needsAttention') {
    const failed = mine.find((c) => c.status === 'FAILED' && c.step !== 'rollback');
    const rolledBackTo = versionIn(mine.find((c) => c.step === 'rollback' && c.status === 'SUCCEEDED')?.details);
    const decision = approval?.decision;
    // Rolled back: where the rollback says the node is. Needing attention: unknown if it may have changed.
    const unchanged = failed !== undefined && !CHANGES_NODE.has(failed.step) && facts.rollbackFailed !== true;
    const outcome: NodeOutcome = {
      nodeId,
      status: action === 'rolledBack' ? 'ROLLED_BACK' : 'NEEDS_ATTENTION',
      from,
      to: action === 'rolledBack' ? (rolledBackTo ?? from) : unchanged ? from : null,
      at,
      ...(failed ? { failedStep: failed.step } : {}),
      ...(decision && decision !== 'retry' && decision !== 'continue' ? { decision } : {}),
      ...(approval ? { decidedBy: approval.decidedBy, byTimeout: approval.byTimeout } : {}),
      ...(approval?.decidedIdentity ? { decidedIdentity: approval.decidedIdentity } : {}),
      ...(facts.rollbackFailed ? { rollbackFailed: true } : {}),
    };
    return { outcome };
  }
  // A step that timed out never got its final checkpoint: it is the failed one.
  const running = mine.find((c) => c.status === 'RUNNING');
  const stuck: StepCheckpoint | undefined =
    running === undefined
      ? undefined
      : {
          ...running,
          status: 'FAILED',
          outputTail: `${facts.error?.Error ?? 'failed'}: ${facts.error?.Cause ?? 'no result from the node'}`.slice(0, 2000),
          finishedAt: at,
        };
  const failed = running ?? mine.find((c) => c.status === 'FAILED');
  const changed = failed !== undefined && CHANGES_NODE.has(failed.step);
  const outcome: NodeOutcome = { nodeId, status: 'FAILED', from, to: changed ? null : from, at, ...(failed ? { failedStep: failed.step } : {}) };
  return stuck === undefined ? { outcome } : { outcome, stuck };
}

/**
 * Why the rollout stops after this outcome, or null when it goes on: anything but success, a skip at the target,
 * or an operator's skip stops it.
 */
export function stopReason(outcome: NodeOutcome): string | null {
  const continues = outcome.status === 'UPGRADED' || outcome.status === 'SKIPPED' || (outcome.status === 'ROLLED_BACK' && outcome.decision === 'skip');
  if (continues) return null;
  const why = outcome.decision
    ? `${outcome.decision} decided${outcome.byTimeout ? ' by timeout' : ''} for ${outcome.nodeId}`
    : `${outcome.nodeId} ${outcome.status === 'NEEDS_ATTENTION' ? 'needs attention' : 'failed'}`;
  return `the run stopped: ${why}${outcome.failedStep ? ` after ${outcome.failedStep} failed` : ''}`;
}
