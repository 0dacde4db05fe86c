import { decidedByTimeout, latestOpenApproval, type ApprovalDecision } from '../../core/approval.js';
import { maintenanceStillOnEmail, rollbackFailedEmail } from '../../core/operator-notices.js';
import type { RunContext } from '../../core/run-context.js';
import type { StepId } from '../../core/steps.js';
import type { CaughtError } from '../../core/summary.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { publishToOperators as publish } from '../../adapters/operator-topic.js';
import { askOperator } from './ask.js';
import { askCanary, canaryTimeout } from './canary.js';
import { askHealth, healthTimeout } from './health.js';
import { decideByPolicy } from './policy.js';

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

export const handler = async (
  event: RequestApprovalEvent,
): Promise<(ApprovalDecision & { approvalId: string; failedStep?: StepId }) | { notified: true } | { asked: string }> => {
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const now = new Date();
  const { run, node } = event;
  if (event.action === 'askCanary') {
    if (event.taskToken === undefined) throw new Error('askCanary needs the task token');
    return askCanary(store, run, node.id, event.taskToken, now, event.enteredAt);
  }
  if (event.action === 'canaryTimeout') return canaryTimeout(store, run, node.id, now);
  if (event.action === 'askHealth') {
    if (event.taskToken === undefined) throw new Error('askHealth needs the task token');
    return askHealth(store, run, node.id, event.taskToken, now, event.enteredAt);
  }
  if (event.action === 'healthTimeout') return healthTimeout(store, run, node.id, now);
  if (event.action === 'timeout') {
    const approval = latestOpenApproval(await store.pendingApprovals(), run.runId, node.id);
    const decided = decidedByTimeout(run.onTimeout, now);
    if (approval !== undefined) await store.claimApproval(approval.approvalId, decided);
    logger.warn('no decision in time; onTimeout applies', { runId: run.runId, nodeId: node.id, decision: decided.decision });
    return { ...decided, approvalId: approval?.approvalId ?? 'none', failedStep: approval?.failedStep ?? 'upgrade' };
  }
  if (event.action === 'policy') return decideByPolicy(store, event, now);
  if (event.action === 'rollbackFailed') {
    const { subject, message } = rollbackFailedEmail(run, node.id, event.error);
    await publish(subject, message, { runId: run.runId, nodeId: node.id, kind: 'rollback-failed' });
    return { notified: true };
  }
  if (event.action === 'maintenanceStillOn') {
    const { subject, message } = maintenanceStillOnEmail(run, node.id, await store.getCheckpoint(run.runId, node.id, 'maintenance-off'));
    await publish(subject, message, { runId: run.runId, nodeId: node.id, kind: 'maintenance-still-on' });
    logger.error('maintenance mode still on; operators told', { runId: run.runId, cluster: run.cluster, nodeId: node.id });
    return { notified: true };
  }
  if (event.taskToken === undefined) throw new Error('ask needs the task token');
  return askOperator(store, { ...event, taskToken: event.taskToken }, now);
};
