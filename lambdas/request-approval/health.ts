import { randomUUID } from 'node:crypto';
import { approvalDeadline, type ApprovalDecision, type ApprovalRequest } from '../../core/approval.js';
import { healthRequestEmail } from '../../core/health-email.js';
import { linkExpiry } from '../../core/approval-reminders.js';
import type { RunContext } from '../../core/run-context.js';
import type { FleetStore } from '../../adapters/store.js';
import { HealthStore } from '../../adapters/health-store.js';
import { Table } from '../../adapters/table.js';
import { approvalKey, approvalLink } from '../../adapters/approval-links.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { publishToOperators as publish, signInIssuer } from '../../adapters/operator-topic.js';

/**
 * Asks continue-or-abort about the firing alarms the gate recorded (`RUN#id` / `HEALTH`): an approval of kind
 * `health` (the same page, email topic and `decide`), with the alarms, their reasons and the nodes changed since
 * the gate last passed. Nodes not started are already held by the open question.
 */
export async function askHealth(store: FleetStore, run: RunContext, nodeId: string, taskToken: string, now: Date, enteredAt?: string): Promise<{ asked: string }> {
  const [planned, outcomes, health] = await Promise.all([
    store.plannedNodes(run.runId), store.runOutcomes(run.runId), new HealthStore(new Table(documentClient(), requireEnv('TABLE_NAME'))).get(run.runId),
  ]);
  const ended = new Set(outcomes.map((o) => o.nodeId));
  const request: ApprovalRequest = {
    kind: 'health',
    approvalId: randomUUID(),
    runId: run.runId,
    cluster: run.cluster,
    nodeId,
    roles: planned.find((p) => p.nodeId === nodeId)?.roles ?? [],
    // Nothing failed on a node: the step fields are required by the shape, and say where the gate looked last.
    failedStep: 'post-upgrade-validation',
    exitCode: null,
    outputTail: '',
    from: null,
    to: run.targetVersion,
    backupId: null,
    upgraded: outcomes.filter((o) => o.status === 'UPGRADED').map((o) => o.nodeId),
    inFlight: planned.filter((p) => !ended.has(p.nodeId) && p.startedAt !== undefined && p.nodeId !== nodeId).map((p) => p.nodeId),
    held: planned.filter((p) => !ended.has(p.nodeId) && (p.startedAt === undefined || p.nodeId === nodeId)).map((p) => p.nodeId),
    alarms: health?.alarms ?? [],
    changedSince: health?.changedSince ?? [],
    createdAt: now.toISOString(),
    expiresAt: approvalDeadline(run.approvalTimeoutSeconds, now, enteredAt).toISOString(),
    onTimeout: 'abort',
  };
  const expiresAt = Math.floor(Date.parse(request.expiresAt) / 1000);
  const base = process.env.APPROVAL_URL;
  const linkExpiresAt = base ? Math.floor(linkExpiry(Date.parse(request.expiresAt), now.getTime()) / 1000) : undefined;
  await store.putApproval(request, taskToken, expiresAt + 7 * 86_400, { expiresAt: linkExpiresAt });
  // The lock is held while the operator decides, as for a failed node's question (best effort).
  await store.renewLock(run.cluster, run.runId, now, expiresAt - Math.floor(now.getTime() / 1000) + Number(process.env.LOCK_TTL_SECONDS ?? 43_200))
    .catch((error: unknown) => logger.warn('could not extend the cluster lock while the operator decides', { runId: run.runId, error: String(error) }));
  const link = base && linkExpiresAt !== undefined ? approvalLink(base, request.approvalId, linkExpiresAt, await approvalKey()) : null;
  const email = healthRequestEmail(request, { link, ...(linkExpiresAt !== undefined ? { linkExpiresAt: linkExpiresAt * 1000 } : {}), signInIssuer: signInIssuer() });
  await publish(email.subject, email.message, { approvalId: request.approvalId, runId: run.runId, nodeId, kind: 'approval', ...(link ? { link } : {}) });
  logger.info('operator asked about a health alarm', { approvalId: request.approvalId, runId: run.runId, alarms: request.alarms?.map((a) => a.name) });
  return { asked: request.approvalId };
}

/** No decision in time (or no way to ask): abort, closing the question's approval. */
export async function healthTimeout(store: FleetStore, run: RunContext, nodeId: string, now: Date): Promise<ApprovalDecision & { approvalId: string }> {
  const approval = (await store.pendingApprovals()).filter((a) => a.runId === run.runId && a.nodeId === nodeId).at(-1);
  const decided: ApprovalDecision = { decision: 'abort', decidedBy: 'timeout', decidedAt: now.toISOString(), byTimeout: true };
  if (approval !== undefined) await store.claimApproval(approval.approvalId, decided);
  logger.warn('no decision about the health alarm in time: abort', { runId: run.runId });
  return { ...decided, approvalId: approval?.approvalId ?? 'none' };
}
