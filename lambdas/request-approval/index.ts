import { randomUUID } from 'node:crypto';
import { approvalDeadline, type ApprovalDecision, type ApprovalRequest } from '../../core/approval.js';
import { approvalRequestEmail } from '../../core/approval-email.js';
import { linkExpiry } from '../../core/approval-reminders.js';
import type { RunContext } from '../../core/run-context.js';
import type { StepId } from '../../core/steps.js';
import { fenceUntrusted } from '../../core/untrusted-text.js';
import type { CaughtError, NodeOutcome } from '../../core/summary.js';
import { FleetStore, type PlannedNode } from '../../adapters/store.js';
import { approvalKey, approvalLink } from '../../adapters/approval-links.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { publishToOperators as publish, signInIssuer } from '../../adapters/operator-topic.js';
import { askCanary, canaryTimeout } from './canary.js';
import { askHealth, healthTimeout } from './health.js';
import { failedCheckpoint } from './failed-step.js';
import { decideByPolicy } from './policy.js';
import { DEFAULT_LOCK_TTL_SECONDS } from '../../core/execution-timeout.js';

export interface RequestApprovalEvent {
  /**
   * ask: a node's step failed; store the evidence with the task token and notify the operators.
   * timeout: nobody decided in time; decide `onTimeout`, recorded as decided by timeout.
   * rollbackFailed: tell the operators a rollback failed and the node needs attention (second notification).
   * maintenanceStillOn: maintenance-off failed past its retries on the core node (`node`): tell the operators
   * to switch it off by hand. askCanary / canaryTimeout: the canary's continue-or-abort question (canary.ts);
   * askHealth / healthTimeout: the same about a firing health alarm (health.ts).
   * policy: onFailure rollback-and-continue decides without asking (within the failure budget: skip; past it: abort).
   */
  action: 'ask' | 'timeout' | 'rollbackFailed' | 'maintenanceStillOn' | 'askCanary' | 'canaryTimeout' | 'askHealth' | 'healthTimeout' | 'policy';
  taskToken?: string;
  node: { id: string };
  run: RunContext;
  error?: CaughtError;
  /** ask: the window step whose failure is asked about (the state machine notes it when it catches the error). */
  failedStep?: string;
  /** ask: when Step Functions entered the waiting state ($$.State.EnteredTime): the approval's deadline counts from it. */
  enteredAt?: string;
}

/**
 * The evidence: the failed step and its output from the node's own checkpoints, versions, backup, and progress
 * so far from the plan and the outcomes (small items, one or two per node; no other node's checkpoints).
 */
async function evidence(store: FleetStore, event: RequestApprovalEvent, now: Date): Promise<ApprovalRequest> {
  const { run, node } = event;
  const [mine, planned, outcomes] = await Promise.all([store.nodeCheckpoints(run.runId, node.id), store.plannedNodes(run.runId), store.runOutcomes(run.runId)]);
  const failed = await failedCheckpoint(store, event, mine, now);
  const version = mine.find((c) => c.step === 'version-check')?.details?.version;
  const backedUp = mine.some((c) => c.step === 'backup' && c.status === 'SUCCEEDED');
  return {
    approvalId: randomUUID(),
    runId: run.runId,
    cluster: run.cluster,
    nodeId: node.id,
    roles: planned.find((p) => p.nodeId === node.id)?.roles ?? [],
    failedStep: (failed?.step ?? 'upgrade') satisfies StepId,
    exitCode: failed?.exitCode ?? null,
    outputTail:
      failed?.outputTail ??
      (failed?.status === 'RUNNING'
        ? `${event.error?.Error ?? 'no result'}: ${event.error?.Cause ?? 'the step did not finish in time'}`
        : (event.error?.Cause ?? '')),
    from: typeof version === 'string' ? version : null,
    to: run.targetVersion,
    backupId: backedUp ? run.runId : null,
    upgraded: outcomes.filter((o) => o.status === 'UPGRADED').map((o) => o.nodeId),
    ...whoWaits(planned, node.id, outcomes),
    createdAt: now.toISOString(),
    expiresAt: approvalDeadline(run.approvalTimeoutSeconds, now, event.enteredAt).toISOString(),
    onTimeout: run.onTimeout,
  };
}

/** Nodes still finishing their current node (the gate let them start), and nodes that have not started and are held by this question. */
function whoWaits(planned: readonly PlannedNode[], failed: string, outcomes: readonly NodeOutcome[]): { inFlight: string[]; held: string[] } {
  const ended = new Set(outcomes.map((o) => o.nodeId));
  const open = planned.filter((p) => p.nodeId !== failed && !ended.has(p.nodeId));
  return {
    inFlight: open.filter((p) => p.startedAt !== undefined).map((p) => p.nodeId),
    held: open.filter((p) => p.startedAt === undefined).map((p) => p.nodeId),
  };
}

export const handler = async (
  event: RequestApprovalEvent,
): Promise<(ApprovalDecision & { approvalId: string; failedStep?: StepId }) | { notified: true } | { asked: string }> => {
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const now = new Date();
  if (event.action === 'askCanary') {
    if (event.taskToken === undefined) throw new Error('askCanary needs the task token');
    return askCanary(store, event.run, event.node.id, event.taskToken, now, event.enteredAt);
  }
  if (event.action === 'canaryTimeout') return canaryTimeout(store, event.run, event.node.id, now);
  if (event.action === 'askHealth') {
    if (event.taskToken === undefined) throw new Error('askHealth needs the task token');
    return askHealth(store, event.run, event.node.id, event.taskToken, now, event.enteredAt);
  }
  if (event.action === 'healthTimeout') return healthTimeout(store, event.run, event.node.id, now);
  if (event.action === 'timeout') {
    const pending = (await store.pendingApprovals()).filter((a) => a.runId === event.run.runId && a.nodeId === event.node.id);
    const approval = pending.at(-1);
    const decided: ApprovalDecision = { decision: event.run.onTimeout, decidedBy: 'timeout', decidedAt: now.toISOString(), byTimeout: true };
    if (approval !== undefined) await store.claimApproval(approval.approvalId, decided);
    logger.warn('no decision in time; onTimeout applies', { runId: event.run.runId, nodeId: event.node.id, decision: decided.decision });
    return { ...decided, approvalId: approval?.approvalId ?? 'none', failedStep: approval?.failedStep ?? 'upgrade' };
  }
  if (event.action === 'policy') return decideByPolicy(store, event, now);
  if (event.action === 'rollbackFailed') {
    await publish(
      `fleet-upgrade: ROLLBACK FAILED on ${event.node.id} (${event.run.cluster})`,
      [
        `The rollback of node ${event.node.id} in cluster ${event.run.cluster} (run ${event.run.runId}) failed.`,
        'The node is marked NEEDS_ATTENTION: its version and state must be checked by hand.',
        'Maintenance mode is switched off and the cluster lock released as the run ends.',
        '',
        'What the state machine caught (it may quote the node):',
        fenceUntrusted(`${event.error?.Error ?? 'error'}: ${event.error?.Cause ?? ''}`),
      ].join('\n'),
      { runId: event.run.runId, nodeId: event.node.id, kind: 'rollback-failed' },
    );
    return { notified: true };
  }
  if (event.action === 'maintenanceStillOn') {
    const failed = await store.getCheckpoint(event.run.runId, event.node.id, 'maintenance-off');
    await publish(
      `fleet-upgrade: MAINTENANCE MODE STILL ON in ${event.run.cluster} (${event.node.id})`,
      [
        `Maintenance mode could not be switched off on the core node ${event.node.id} of cluster ${event.run.cluster} (run ${event.run.runId}):`,
        "the runbook's maintenance-off step failed on every attempt. The cluster stays in maintenance until someone switches it off by hand.",
        'The cluster lock is released as the run ends; the nodes are where the run summary says.',
        '',
        `Exit code: ${failed?.exitCode ?? 'none'}`,
        'Last output of the step, as the node wrote it:',
        fenceUntrusted(failed?.outputTail ?? 'no output recorded'),
      ].join('\n'),
      { runId: event.run.runId, nodeId: event.node.id, kind: 'maintenance-still-on' },
    );
    logger.error('maintenance mode still on; operators told', { runId: event.run.runId, cluster: event.run.cluster, nodeId: event.node.id });
    return { notified: true };
  }
  if (event.taskToken === undefined) throw new Error('ask needs the task token');
  // First of all: no node may start while this question is open (in-flight nodes finish their current node).
  await store.openHold(event.run.runId, event.node.id, event.failedStep ?? 'unknown', now.toISOString());
  const request = await evidence(store, event, now);
  const expiresAt = Math.floor(Date.parse(request.expiresAt) / 1000);
  const base = process.env.APPROVAL_URL;
  // A link lives at most a week; a longer wait gets fresh links from remind-approvers.
  const linkExpiresAt = base ? Math.floor(linkExpiry(Date.parse(request.expiresAt), now.getTime()) / 1000) : undefined;
  await store.putApproval(request, event.taskToken, expiresAt + 7 * 86_400, { expiresAt: linkExpiresAt });
  // Waiting for a decision can outlast the lock's usual hold (12 h; approvals may wait up to 7 days):
  // hold it until the approval expires plus that hold, so a waiting run never looks crashed to `unlock`.
  // Best effort: asking the operator matters more than the longer hold (the gate renews it as nodes start).
  const holdSeconds = Number(process.env.LOCK_TTL_SECONDS ?? DEFAULT_LOCK_TTL_SECONDS);
  const held = await store
    .renewLock(event.run.cluster, event.run.runId, now, expiresAt - Math.floor(now.getTime() / 1000) + holdSeconds)
    .catch((error: unknown) => {
      logger.warn('could not extend the cluster lock while the operator decides', { runId: event.run.runId, error: String(error) });
      return true;
    });
  if (!held)
    logger.warn('the cluster lock is no longer held by this run (broken with unlock); asking the operator all the same', {
      runId: event.run.runId,
      cluster: event.run.cluster,
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
};
