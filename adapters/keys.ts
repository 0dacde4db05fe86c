import { CLUSTER_STEPS, stepNumber, type StepId } from '../core/steps.js';

/**
 * The single table (`pk`/`sk`):
 *   CLUSTER#c / NODE#id        the node's recorded version, previousVersion, status, lastRun
 *   CLUSTER#c / LOCK           which run holds the cluster, until when
 *   CLUSTER#c / RUN#id         the run: plan facts, status, summary (compacted when large)
 *   RUN#id    / STOP           the run is stopping (a node failed, was rolled back or aborted): no new node starts
 *   RUN#id    / HOLD#id        a question about node id is open (its step failed): no new node starts until it is answered
 *   RUN#id    / HELD#id        node id was held by open questions: its task token while it waits, how long it waited
 *   RUN#id    / CANARY         the canary: nodes that took a slot, those done, who asks, the operator's decision
 *   RUN#id    / HEALTH         health gates: the open question's alarms and asker, the decision, alarms continued past, when the gate last passed
 *   RUN#id    / PAUSE          an operator paused the run (PAUSED) until resumed (RESUMED), past its limit (EXPIRED) or the run ended (ENDED)
 *   RUN#id    / BUDGET         onFailure rollback-and-continue: the failed nodes, in the order they failed
 *   RUN#id    / WINDOW         notAfter: the cutoff, the window estimates the gate judges by, the node it refused
 *   RUN#id    / DURATIONS      how long its nodes' windows took (per role; written with the summary): later runs' estimates
 *   RUN#id    / PLAN#id        a node of the run: its place in the order, roles, version known when planned, when it started
 *   RUN#id    / OUTCOME#id     how the node's part of the run ended
 *   RUN#id    / STEP#NODE#id#nn  step checkpoints;  RUN#id / STEP#CLUSTER#nn  maintenance mode steps
 *   COMMAND#id / COMMAND       the task token waiting for an SSM command (never in a URL; TTL-expired)
 *   APPROVAL#id / APPROVAL     an approval request: evidence, state, decision, its task token (TTL-expired)
 *   APPROVALS#PENDING / APPROVAL#id  pointer to an approval still waiting for a human
 */
export interface Key {
  pk: string;
  sk: string;
}

export const clusterPk = (cluster: string): string => `CLUSTER#${cluster}`;
export const runPk = (runId: string): string => `RUN#${runId}`;
export const PENDING_APPROVALS_PK = 'APPROVALS#PENDING';

/**
 * Sort-key prefixes that select one kind of record in its partition: no key of one kind begins with another
 * kind's prefix, and a node's checkpoint prefix ends in `#`, so that `i-1`'s never selects `i-10`'s.
 */
export const SK_PREFIX = {
  /** Under CLUSTER#c. */
  nodeRecord: 'NODE#',
  run: 'RUN#',
  /** Under RUN#id. */
  plan: 'PLAN#',
  outcome: 'OUTCOME#',
  checkpoint: 'STEP#',
  hold: 'HOLD#',
  held: 'HELD#',
  /** Under APPROVALS#PENDING. */
  pendingApproval: 'APPROVAL#',
} as const;

export const lockKey = (cluster: string): Key => ({ pk: clusterPk(cluster), sk: 'LOCK' });
export const nodeRecordKey = (cluster: string, nodeId: string): Key => ({ pk: clusterPk(cluster), sk: `${SK_PREFIX.nodeRecord}${nodeId}` });
export const runKey = (cluster: string, runId: string): Key => ({ pk: clusterPk(cluster), sk: `${SK_PREFIX.run}${runId}` });

export const planKey = (runId: string, nodeId: string): Key => ({ pk: runPk(runId), sk: `${SK_PREFIX.plan}${nodeId}` });
export const outcomeKey = (runId: string, nodeId: string): Key => ({ pk: runPk(runId), sk: `${SK_PREFIX.outcome}${nodeId}` });
export const stopKey = (runId: string): Key => ({ pk: runPk(runId), sk: 'STOP' });
export const holdKey = (runId: string, nodeId: string): Key => ({ pk: runPk(runId), sk: `${SK_PREFIX.hold}${nodeId}` });
export const budgetKey = (runId: string): Key => ({ pk: runPk(runId), sk: 'BUDGET' });
export const windowKey = (runId: string): Key => ({ pk: runPk(runId), sk: 'WINDOW' });
export const durationsKey = (runId: string): Key => ({ pk: runPk(runId), sk: 'DURATIONS' });
export const heldKey = (runId: string, nodeId: string): Key => ({ pk: runPk(runId), sk: `${SK_PREFIX.held}${nodeId}` });
export const pauseKey = (runId: string): Key => ({ pk: runPk(runId), sk: 'PAUSE' });
export const canaryKey = (runId: string): Key => ({ pk: runPk(runId), sk: 'CANARY' });
export const healthKey = (runId: string): Key => ({ pk: runPk(runId), sk: 'HEALTH' });

/** Prefix of one node's step checkpoints in its run. */
export const nodeCheckpointsPrefix = (nodeId: string): string => `${SK_PREFIX.checkpoint}NODE#${nodeId}#`;

/** A step checkpoint: node steps under the node, maintenance mode under the cluster. */
export function checkpointKey(runId: string, nodeId: string, step: StepId): Key {
  return {
    pk: runPk(runId),
    sk: CLUSTER_STEPS.includes(step) ? `${SK_PREFIX.checkpoint}CLUSTER#${stepNumber(step)}` : `${nodeCheckpointsPrefix(nodeId)}${stepNumber(step)}`,
  };
}

export const commandKey = (commandId: string): Key => ({ pk: `COMMAND#${commandId}`, sk: 'COMMAND' });
export const approvalRecordKey = (approvalId: string): Key => ({ pk: `APPROVAL#${approvalId}`, sk: 'APPROVAL' });
export const pendingApprovalKey = (approvalId: string): Key => ({ pk: PENDING_APPROVALS_PK, sk: `${SK_PREFIX.pendingApproval}${approvalId}` });
