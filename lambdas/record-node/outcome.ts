import { nodeOutcome, stopReason, type OutcomeFacts } from '../../core/node-outcome.js';
import type { RunContext } from '../../core/run-context.js';
import type { NodeOutcome } from '../../core/summary.js';
import type { FleetStore } from '../../adapters/store.js';
import { logger } from '../../adapters/logger.js';
import type { RunHolds } from './run-holds.js';

/** What the event says about the node's end; its checkpoints and the clock come from here. */
export type EndFacts = Omit<OutcomeFacts, 'nodeId' | 'checkpoints' | 'targetVersion' | 'resumedFrom' | 'at'>;

/**
 * Records how a node's part of the run ended (core/node-outcome.ts decides), in the run and in the node's own
 * record; an outcome that stops the rollout marks the run stopping, and held nodes go back to the gate.
 */
export async function recordNodeOutcome(
  store: FleetStore,
  holds: RunHolds,
  run: RunContext,
  node: { id: string; roles?: string[]; resumedFrom?: string },
  facts: EndFacts,
): Promise<NodeOutcome | (NodeOutcome & { askCanary: true })> {
  const { runId } = run;
  // Only this node's checkpoints: reading the whole run for every node was quadratic in the run's size.
  const checkpoints = await store.nodeCheckpoints(runId, node.id);
  const at = new Date().toISOString();
  const { outcome, stuck } = nodeOutcome({ ...facts, nodeId: node.id, checkpoints, resumedFrom: node.resumedFrom, targetVersion: run.targetVersion, at });
  if (stuck !== undefined) await store.putCheckpoint(runId, stuck);
  const roles = node.roles ?? (await store.plannedRoles(runId, node.id)) ?? [];
  await store.recordOutcome(run.cluster, runId, roles, outcome);
  const stop = stopReason(outcome);
  if (stop !== null) await store.markRunStopping(runId, stop, at);
  // The node's question (if it was asked) is answered: held nodes go on, or end unstarted if the run stops.
  const wasHolding = await store.closeHold(runId, node.id);
  if (wasHolding || stop !== null) await holds.release();
  logger.info('node recorded', { runId, ...outcome });
  // The node that completes the canary asks continue-or-abort next (the workflow's "Is the canary complete?").
  if (stop === null && (await holds.canaryDone(node.id))) return { ...outcome, askCanary: true };
  return outcome;
}
