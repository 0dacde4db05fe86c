import { randomUUID } from 'node:crypto';
import { approvalDeadline, type ApprovalDecision, type ApprovalRequest } from '../../core/approval.js';
import { canaryRequestEmail } from '../../core/canary-email.js';
import type { RunContext } from '../../core/run-context.js';
import type { FleetStore } from '../../adapters/store.js';
import { logger } from '../../adapters/logger.js';
import { putQuestion, questionTimeout } from './question.js';

/**
 * Asks continue-or-abort once the canary nodes are upgraded: an approval of kind `canary` (the same page, email
 * topic and `decide`), about the node that completed the canary. Nodes not started are already held by the gate.
 */
export async function askCanary(
  store: FleetStore,
  run: RunContext,
  nodeId: string,
  taskToken: string,
  now: Date,
  enteredAt?: string,
): Promise<{ asked: string }> {
  const [planned, outcomes] = await Promise.all([store.plannedNodes(run.runId), store.runOutcomes(run.runId)]);
  const ended = new Set(outcomes.map((o) => o.nodeId));
  const request: ApprovalRequest = {
    kind: 'canary',
    approvalId: randomUUID(),
    runId: run.runId,
    cluster: run.cluster,
    nodeId,
    roles: planned.find((p) => p.nodeId === nodeId)?.roles ?? [],
    // Nothing failed: the step fields say where the canary ended (its last node validated).
    failedStep: 'post-upgrade-validation',
    exitCode: null,
    outputTail: '',
    from: null,
    to: run.targetVersion,
    backupId: null,
    upgraded: outcomes.filter((o) => o.status === 'UPGRADED').map((o) => o.nodeId),
    inFlight: [],
    held: planned.filter((p) => !ended.has(p.nodeId)).map((p) => p.nodeId),
    createdAt: now.toISOString(),
    expiresAt: approvalDeadline(run.approvalTimeoutSeconds, now, enteredAt).toISOString(),
    onTimeout: 'abort',
  };
  const asked = await putQuestion(store, run, request, taskToken, now, canaryRequestEmail);
  logger.info('operator asked about the canary', { approvalId: request.approvalId, runId: run.runId, canary: request.upgraded });
  return asked;
}

/** No decision in time (or no way to ask): abort, closing its approval. */
export function canaryTimeout(store: FleetStore, run: RunContext, nodeId: string, now: Date): Promise<ApprovalDecision & { approvalId: string }> {
  return questionTimeout(store, run, nodeId, now, 'the canary');
}
