import type { ApprovalDecision } from './approval.js';
import type { EndedWithoutCleanup } from './execution-status.js';
import type { StepOutcome, StepResult } from './step-result.js';
import { CHANGES_NODE_STEPS, type StepId } from './steps.js';
import type { NodeOutcome, StepCheckpoint } from './summary.js';

/**
 * What is left to do for a run whose execution ended without its catch paths (stopped, timed out, or failed
 * with an error no Catch takes). run-stopped and clean-up-run both ask, once they know the run's cluster.
 */
export type StoppedRunAction<R> =
  /** Only the lock is left: the run never got as far as its plan (it touched no node), or its own failure path finished (summarized). */
  | { kind: 'release-lock'; reason: 'never-planned' | 'summarized' }
  /** Roll back the nodes it caught, close what it left open, turn maintenance mode off, release the lock, summarize. */
  | { kind: 'clean-up'; run: R };

/** Decides on the run's record (null: none, the run was never planned) and whether its summary is recorded. */
export function stoppedRunAction<R>(run: R | null, summarized: boolean): StoppedRunAction<R> {
  if (run === null) return { kind: 'release-lock', reason: 'never-planned' };
  return summarized ? { kind: 'release-lock', reason: 'summarized' } : { kind: 'clean-up', run };
}

const CHANGES_NODE: ReadonlySet<StepId> = new Set(CHANGES_NODE_STEPS);

/**
 * The nodes the stop caught between retire and their outcome, in the order they started: they may be drained
 * or half-switched, and are rolled back to the version they ran before (the runbook's rollback is safe after
 * a failure at any step). A node whose outcome is recorded is left alone.
 */
export function interruptedNodes(checkpoints: readonly Pick<StepCheckpoint, 'nodeId' | 'step'>[], outcomes: readonly Pick<NodeOutcome, 'nodeId'>[]): string[] {
  const ended = new Set(outcomes.map((o) => o.nodeId));
  return [...new Set(checkpoints.filter((c) => CHANGES_NODE.has(c.step)).map((c) => c.nodeId))].filter((id) => !ended.has(id));
}

/** An interrupted node after the cleanup's rollback, as the cleanup reports it. */
export interface RolledBackNode {
  nodeId: string;
  outcome: StepOutcome;
  /** The version the rollback reported the node at; null when it reported none. */
  version: string | null;
}

/**
 * How an interrupted node's part of the run ends once the cleanup rolled it back: FAILED at the rollback, from
 * the version the plan found (or the one the rollback reported), to the version it was rolled back to — or
 * unknown (null) when the rollback itself failed.
 */
export function rolledBackOutcome(
  nodeId: string,
  rollback: StepResult,
  plannedFrom: string | null | undefined,
  at: string,
): { node: RolledBackNode; outcome: NodeOutcome } {
  const version = typeof rollback.details.version === 'string' ? rollback.details.version : null;
  return {
    node: { nodeId, outcome: rollback.outcome, version },
    outcome: {
      nodeId,
      status: 'FAILED',
      from: plannedFrom ?? version,
      to: rollback.outcome === 'FAILED' ? null : version,
      failedStep: 'rollback',
      reason: "the run was stopped during this node's upgrade; rolled back",
      at,
    },
  };
}

/**
 * A decision the run waited for can no longer reach it: its approvals are closed as a rollback (the nodes they
 * were about are rolled back), decided by how the run ended, so that neither the page nor `approvals` offers them.
 */
export function closingDecision(ended: EndedWithoutCleanup, at: string): ApprovalDecision {
  return { decision: 'rollback', decidedBy: ended.decidedBy, decidedAt: at, byTimeout: false };
}

/** Maintenance-off outcomes after which the cluster is out of maintenance mode. */
const MAINTENANCE_IS_OFF: ReadonlySet<string> = new Set(['SUCCEEDED', 'NOTHING_TO_DO']);

/**
 * Whether the cleanup turns maintenance mode off on the core node, the run having turned it on (a
 * maintenance-on checkpoint): not when the run's failure path already did (a FAILED run whose summary could
 * not be written), yes when it never tried or its try failed.
 */
export function maintenanceOffNeeded(maintenanceOff: Pick<StepCheckpoint, 'status'> | null): boolean {
  return maintenanceOff === null || !MAINTENANCE_IS_OFF.has(maintenanceOff.status);
}
