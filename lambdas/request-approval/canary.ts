import { randomUUID } from 'node:crypto';
import { approvalDeadline, type ApprovalDecision, type ApprovalRequest } from '../../core/approval.js';
import { canaryRequestEmail } from '../../core/canary-email.js';
import { linkExpiry } from '../../core/approval-reminders.js';
import type { RunContext } from '../../core/run-context.js';
import type { FleetStore } from '../../adapters/store.js';
import { approvalKey, approvalLink } from '../../adapters/approval-links.js';
import { logger } from '../../adapters/logger.js';
import { publishToOperators as publish, signInIssuer } from '../../adapters/operator-topic.js';
import { DEFAULT_LOCK_TTL_SECONDS } from '../../core/execution-timeout.js';

/**
 * Asks continue-or-abort once the canary nodes are upgraded: an approval of kind `canary` (the same page, email
 * topic and `decide`), about the node that completed the canary. Nodes not started are already held by the gate.
 */
export async function askCanary(store: FleetStore, run: RunContext, nodeId: string, taskToken: string, now: Date, enteredAt?: string): Promise<{ asked: string }> {
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
  const expiresAt = Math.floor(Date.parse(request.expiresAt) / 1000);
  const base = process.env.APPROVAL_URL;
  const linkExpiresAt = base ? Math.floor(linkExpiry(Date.parse(request.expiresAt), now.getTime()) / 1000) : undefined;
  await store.putApproval(request, taskToken, expiresAt + 7 * 86_400, { expiresAt: linkExpiresAt });
  // The lock is held while the operator decides, as for a failed node's question (best effort).
  await store.renewLock(run.cluster, run.runId, now, expiresAt - Math.floor(now.getTime() / 1000) + Number(process.env.LOCK_TTL_SECONDS ?? DEFAULT_LOCK_TTL_SECONDS))
    .catch((error: unknown) => logger.warn('could not extend the cluster lock while the operator decides', { runId: run.runId, error: String(error) }));
  const link = base && linkExpiresAt !== undefined ? approvalLink(base, request.approvalId, linkExpiresAt, await approvalKey()) : null;
  const email = canaryRequestEmail(request, { link, ...(linkExpiresAt !== undefined ? { linkExpiresAt: linkExpiresAt * 1000 } : {}), signInIssuer: signInIssuer() });
  await publish(email.subject, email.message, { approvalId: request.approvalId, runId: run.runId, nodeId, kind: 'approval', ...(link ? { link } : {}) });
  logger.info('operator asked about the canary', { approvalId: request.approvalId, runId: run.runId, canary: request.upgraded });
  return { asked: request.approvalId };
}

/** No decision in time (or no way to ask): the canary's timeout decides abort, closing its approval. */
export async function canaryTimeout(store: FleetStore, run: RunContext, nodeId: string, now: Date): Promise<ApprovalDecision & { approvalId: string }> {
  const approval = (await store.pendingApprovals()).filter((a) => a.runId === run.runId && a.nodeId === nodeId).at(-1);
  const decided: ApprovalDecision = { decision: 'abort', decidedBy: 'timeout', decidedAt: now.toISOString(), byTimeout: true };
  if (approval !== undefined) await store.claimApproval(approval.approvalId, decided);
  logger.warn('no decision about the canary in time: abort', { runId: run.runId });
  return { ...decided, approvalId: approval?.approvalId ?? 'none' };
}
