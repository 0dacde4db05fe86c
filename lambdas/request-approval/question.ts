import { decidedByTimeout, latestOpenApproval, type ApprovalDecision, type ApprovalRequest } from '../../core/approval.js';
import type { ApprovalEmailContext, OperatorEmail } from '../../core/approval-email.js';
import { linkExpiry } from '../../core/approval-reminders.js';
import { DEFAULT_LOCK_TTL_SECONDS } from '../../core/execution-timeout.js';
import type { RunContext } from '../../core/run-context.js';
import type { FleetStore } from '../../adapters/store.js';
import { approvalKey, approvalLink } from '../../adapters/approval-links.js';
import { logger } from '../../adapters/logger.js';
import { publishToOperators as publish, signInIssuer } from '../../adapters/operator-topic.js';

/** How a question's email reads, given its link (null without an approval page) and when the link expires. */
export type QuestionEmail = (request: ApprovalRequest, ctx: ApprovalEmailContext) => OperatorEmail;

/**
 * Puts a continue-or-abort question (the canary's, a health alarm's) to the operators as any approval is put:
 * stored with its task token, the lock held while they decide, a signed link, the email on the operator topic.
 */
export async function putQuestion(
  store: FleetStore,
  run: RunContext,
  request: ApprovalRequest,
  taskToken: string,
  now: Date,
  email: QuestionEmail,
): Promise<{ asked: string }> {
  const expiresAt = Math.floor(Date.parse(request.expiresAt) / 1000);
  const base = process.env.APPROVAL_URL;
  const linkExpiresAt = base ? Math.floor(linkExpiry(Date.parse(request.expiresAt), now.getTime()) / 1000) : undefined;
  await store.putApproval(request, taskToken, expiresAt + 7 * 86_400, { expiresAt: linkExpiresAt });
  // The lock is held while the operator decides, as for a failed node's question (best effort).
  await store
    .renewLock(run.cluster, run.runId, now, expiresAt - Math.floor(now.getTime() / 1000) + Number(process.env.LOCK_TTL_SECONDS ?? DEFAULT_LOCK_TTL_SECONDS))
    .catch((error: unknown) => logger.warn('could not extend the cluster lock while the operator decides', { runId: run.runId, error: String(error) }));
  const link = base && linkExpiresAt !== undefined ? approvalLink(base, request.approvalId, linkExpiresAt, await approvalKey()) : null;
  const { subject, message } = email(request, {
    link,
    ...(linkExpiresAt !== undefined ? { linkExpiresAt: linkExpiresAt * 1000 } : {}),
    signInIssuer: signInIssuer(),
  });
  await publish(subject, message, { approvalId: request.approvalId, runId: run.runId, nodeId: request.nodeId, kind: 'approval', ...(link ? { link } : {}) });
  return { asked: request.approvalId };
}

/** No decision in time (or no way to ask): abort, closing the question's approval. */
export async function questionTimeout(
  store: FleetStore,
  run: RunContext,
  nodeId: string,
  now: Date,
  what: string,
): Promise<ApprovalDecision & { approvalId: string }> {
  const approval = latestOpenApproval(await store.pendingApprovals(), run.runId, nodeId);
  const decided = decidedByTimeout('abort', now);
  if (approval !== undefined) await store.claimApproval(approval.approvalId, decided);
  logger.warn(`no decision about ${what} in time: abort`, { runId: run.runId });
  return { ...decided, approvalId: approval?.approvalId ?? 'none' };
}
