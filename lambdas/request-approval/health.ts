import { randomUUID } from 'node:crypto';
import type { ApprovalDecision } from '../../core/approval.js';
import { healthEvidence } from '../../core/approval-evidence.js';
import { healthRequestEmail } from '../../core/health-email.js';
import type { RunContext } from '../../core/run-context.js';
import type { FleetStore } from '../../adapters/store.js';
import { HealthStore } from '../../adapters/health-store.js';
import { Table } from '../../adapters/table.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { putQuestion, questionTimeout } from './question.js';

/**
 * Asks continue-or-abort about the firing alarms the gate recorded (`RUN#id` / `HEALTH`): an approval of kind
 * `health` (the same page, email topic and `decide`), with the alarms, their reasons and the nodes changed since
 * the gate last passed. Nodes not started are already held by the open question.
 */
export async function askHealth(
  store: FleetStore,
  run: RunContext,
  nodeId: string,
  taskToken: string,
  now: Date,
  enteredAt?: string,
): Promise<{ asked: string }> {
  const [planned, outcomes, health] = await Promise.all([
    store.plannedNodes(run.runId),
    store.runOutcomes(run.runId),
    new HealthStore(new Table(documentClient(), requireEnv('TABLE_NAME'))).get(run.runId),
  ]);
  const request = healthEvidence({ approvalId: randomUUID(), run, nodeId, planned, outcomes, health, now, enteredAt });
  const asked = await putQuestion(store, run, request, taskToken, now, healthRequestEmail);
  logger.info('operator asked about a health alarm', { approvalId: request.approvalId, runId: run.runId, alarms: request.alarms?.map((a) => a.name) });
  return asked;
}

/** No decision in time (or no way to ask): abort, closing its approval. */
export function healthTimeout(store: FleetStore, run: RunContext, nodeId: string, now: Date): Promise<ApprovalDecision & { approvalId: string }> {
  return questionTimeout(store, run, nodeId, now, 'the health alarm');
}
