import { randomUUID } from 'node:crypto';
import type { ApprovalDecision } from '../../core/approval.js';
import { canaryEvidence } from '../../core/approval-evidence.js';
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
  const request = canaryEvidence({ approvalId: randomUUID(), run, nodeId, planned, outcomes, now, enteredAt });
  const asked = await putQuestion(store, run, request, taskToken, now, canaryRequestEmail);
  logger.info('operator asked about the canary', { approvalId: request.approvalId, runId: run.runId, canary: request.upgraded });
  return asked;
}

/** No decision in time (or no way to ask): abort, closing its approval. */
export function canaryTimeout(store: FleetStore, run: RunContext, nodeId: string, now: Date): Promise<ApprovalDecision & { approvalId: string }> {
  return questionTimeout(store, run, nodeId, now, 'the canary');
}
