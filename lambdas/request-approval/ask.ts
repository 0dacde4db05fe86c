import { randomUUID } from 'node:crypto';
import { failedNodeEvidence } from '../../core/approval-evidence.js';
import { approvalRequestEmail } from '../../core/approval-email.js';
import { linkExpiry } from '../../core/approval-reminders.js';
import { DEFAULT_LOCK_TTL_SECONDS } from '../../core/execution-timeout.js';
import type { RunContext } from '../../core/run-context.js';
import type { CaughtError } from '../../core/summary.js';
import type { FleetStore } from '../../adapters/store.js';
import { approvalKey, approvalLink } from '../../adapters/approval-links.js';
import { logger } from '../../adapters/logger.js';
import { publishToOperators as publish, signInIssuer } from '../../adapters/operator-topic.js';
import { failedCheckpoint } from './failed-step.js';

/** A failed node's question, as the state machine asks it. */
export interface FailedNodeQuestion {
  run: RunContext;
  node: { id: string };
  taskToken: string;
  error?: CaughtError;
  failedStep?: string;
  enteredAt?: string;
}

/**
 * Asks the operators about a failed node: the run is held first, then the evidence (core/approval-evidence.ts)
 * is stored with the task token, the lock held while they decide, and the email sent with a signed link.
 */
export async function askOperator(store: FleetStore, event: FailedNodeQuestion, now: Date): Promise<{ asked: string }> {
  const { run, node } = event;
  // First of all: no node may start while this question is open (in-flight nodes finish their current node).
  await store.openHold(run.runId, node.id, event.failedStep ?? 'unknown', now.toISOString());
  // Small items, one or two per node: the node's own checkpoints, the plan and the outcomes.
  const [mine, planned, outcomes] = await Promise.all([store.nodeCheckpoints(run.runId, node.id), store.plannedNodes(run.runId), store.runOutcomes(run.runId)]);
  const failed = await failedCheckpoint(store, event, mine, now);
  const request = failedNodeEvidence({
    approvalId: randomUUID(),
    run,
    nodeId: node.id,
    planned,
    outcomes,
    now,
    enteredAt: event.enteredAt,
    mine,
    failed,
    error: event.error,
  });
  const expiresAt = Math.floor(Date.parse(request.expiresAt) / 1000);
  const base = process.env.APPROVAL_URL;
  // A link lives at most a week; a longer wait gets fresh links from remind-approvers.
  const linkExpiresAt = base ? Math.floor(linkExpiry(Date.parse(request.expiresAt), now.getTime()) / 1000) : undefined;
  await store.putApproval(request, event.taskToken, expiresAt + 7 * 86_400, { expiresAt: linkExpiresAt });
  // Waiting for a decision can outlast the lock's usual hold (12 h; approvals may wait up to 7 days):
  // hold it until the approval expires plus that hold, so a waiting run never looks crashed to `unlock`.
  // Best effort: asking the operator matters more than the longer hold (the gate renews it as nodes start).
  const holdSeconds = Number(process.env.LOCK_TTL_SECONDS ?? DEFAULT_LOCK_TTL_SECONDS);
  const held = await store.renewLock(run.cluster, run.runId, now, expiresAt - Math.floor(now.getTime() / 1000) + holdSeconds).catch((error: unknown) => {
    logger.warn('could not extend the cluster lock while the operator decides', { runId: run.runId, error: String(error) });
    return true;
  });
  if (!held)
    logger.warn('the cluster lock is no longer held by this run (broken with unlock); asking the operator all the same', {
      runId: run.runId,
      cluster: run.cluster,
    });
  const link = base && linkExpiresAt !== undefined ? approvalLink(base, request.approvalId, linkExpiresAt, await approvalKey()) : null;
  const email = approvalRequestEmail(request, {
    link,
    ...(linkExpiresAt !== undefined ? { linkExpiresAt: linkExpiresAt * 1000 } : {}),
    signInIssuer: signInIssuer(),
  });
  await publish(email.subject, email.message, {
    approvalId: request.approvalId,
    runId: request.runId,
    nodeId: request.nodeId,
    kind: 'approval',
    ...(link ? { link } : {}),
  });
  logger.info('operator asked', { approvalId: request.approvalId, runId: request.runId, nodeId: request.nodeId, failedStep: request.failedStep });
  return { asked: request.approvalId };
}
