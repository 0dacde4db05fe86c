import type { SFNClient } from '@aws-sdk/client-sfn';
import type { DeciderIdentity } from '../core/approvers.js';
import { isAnyDecision, offeredDecisions, type AnyDecision, type ApprovalDecision } from '../core/approval.js';
import type { FleetStore, StoredApproval } from './store.js';
import { TaskCallback } from './task-callback.js';

/** Why a decision was not taken: the page and the CLI say so plainly and change nothing. */
export class ApprovalNotOpenError extends Error {
  constructor(
    public readonly approvalId: string,
    public readonly reason: 'unknown' | 'decided' | 'expired' | 'late',
    public readonly approval: StoredApproval | null,
  ) {
    super(
      reason === 'unknown'
        ? `approval ${approvalId} does not exist`
        : reason === 'decided'
          ? `approval ${approvalId} was already decided: ${approval?.decision ?? '?'} by ${approval?.decidedBy ?? '?'} at ${approval?.decidedAt ?? '?'}`
          : reason === 'late'
            ? `approval ${approvalId}: too late: the run already applied ${approval?.onTimeout ?? 'its onTimeout decision'} ` +
              `(it had stopped waiting when this decision reached Step Functions); the attempt is recorded and decided nothing`
            : `approval ${approvalId} expired at ${approval?.expiresAt ?? '?'}; the run applied its onTimeout decision`,
    );
    this.name = 'ApprovalNotOpenError';
  }
}

/** A decision the approval does not offer (continue on a failed node's question, rollback on the canary's). */
export class DecisionNotOfferedError extends Error {
  constructor(
    public readonly approvalId: string,
    public readonly decision: string,
    public readonly offered: readonly string[],
  ) {
    super(`approval ${approvalId} offers ${offered.join(', ')}, not ${decision}; nothing was decided`);
    this.name = 'DecisionNotOfferedError';
  }
}

/**
 * Decides a pending approval, once: claims it in DynamoDB (conditional on PENDING), then answers the
 * waiting task with the decision. Used by the approval page (POST), the CLI and the timeout path.
 */
export async function decideApproval(
  deps: { store: FleetStore; sfn: SFNClient },
  approvalId: string,
  decision: AnyDecision,
  decidedBy: string,
  now: Date,
  byTimeout = false,
  decidedIdentity?: DeciderIdentity,
): Promise<StoredApproval & ApprovalDecision> {
  if (!isAnyDecision(decision)) throw new Error(`decision: expected one of rollback, retry, skip, abort, continue, got ${JSON.stringify(decision)}`);
  const approval = await deps.store.getApproval(approvalId);
  if (approval === null) throw new ApprovalNotOpenError(approvalId, 'unknown', null);
  if (!offeredDecisions(approval).includes(decision)) throw new DecisionNotOfferedError(approvalId, decision, offeredDecisions(approval));
  if (approval.state !== 'PENDING') throw new ApprovalNotOpenError(approvalId, 'decided', approval);
  if (!byTimeout && Date.parse(approval.expiresAt) <= now.getTime()) throw new ApprovalNotOpenError(approvalId, 'expired', approval);
  const decided: ApprovalDecision = { decision, decidedBy, decidedAt: now.toISOString(), byTimeout, ...(decidedIdentity ? { decidedIdentity } : {}) };
  if (!(await deps.store.claimApproval(approvalId, decided))) {
    throw new ApprovalNotOpenError(approvalId, 'decided', await deps.store.getApproval(approvalId));
  }
  let taken: boolean;
  try {
    taken = await new TaskCallback(deps.sfn).succeed(approval.taskToken, { ...decided, approvalId, failedStep: approval.failedStep });
  } catch (error) {
    // Not delivered (throttled, Step Functions unavailable): the approval is open again, not silently lost.
    await deps.store.unclaimApproval(approval, decided.decidedAt);
    throw error;
  }
  if (!taken) {
    // TaskTimedOut / TaskDoesNotExist: the task no longer waits and the run applied onTimeout, not this decision.
    throw new ApprovalNotOpenError(approvalId, 'late', await deps.store.recordLateAttempt(approval, decided, now.toISOString()));
  }
  return { ...approval, ...decided, state: 'DECIDED' };
}
