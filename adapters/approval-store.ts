import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ApprovalDecision, ApprovalRequest } from '../core/approval.js';
import type { ReminderKind } from '../core/approval-reminders.js';
import { PENDING_APPROVALS_PK, SK_PREFIX, approvalRecordKey, pendingApprovalKey } from './keys.js';
import { withoutKey, type Table } from './table.js';

/** An approval request as stored: the evidence, its state, and (never shown) the task token. */
export interface StoredApproval extends ApprovalRequest {
  taskToken: string;
  state: 'PENDING' | 'DECIDED';
  decision?: ApprovalDecision['decision'];
  decidedBy?: string;
  decidedAt?: string;
  byTimeout?: boolean;
  decidedIdentity?: ApprovalDecision['decidedIdentity'];
  /** A decision that reached Step Functions after the task stopped waiting: recorded, never applied. */
  lateAttempt?: { decision: ApprovalDecision['decision']; by: string; at: string; identity?: ApprovalDecision['decidedIdentity'] };
  /** Reminders sent (or merged into one sent), recorded before each is published. */
  reminded?: ReminderKind[];
  /** When the latest email about it was sent (the request, then each reminder): a sweep records only over what it read. */
  lastNotifiedAt?: string;
  /** When the latest emailed link expires (epoch seconds, the link's `exp`); absent when emails carry no link. */
  linkExpiresAt?: number;
  ttl: number;
}

/** What one reminder email changes on the approval, recorded before it is published. */
export interface ReminderRecord {
  reminded: ReminderKind[];
  notifiedAt: string;
  /** The expiry of the link the reminder carries (epoch seconds); absent without a link. */
  linkExpiresAt?: number;
}

/** Approval requests (`APPROVAL#id`) and the pointers to those still waiting for a human (`APPROVALS#PENDING`). */
export class ApprovalStore {
  constructor(private readonly table: Table) {}

  /**
   * Records an approval request with the task token that its decision answers. The token stays here;
   * links carry only the approval id. A pointer under `APPROVALS#PENDING` lists what waits for a human.
   *
   *   PENDING ──(POST / CLI / timeout: conditional on PENDING)──► DECIDED   (a second decision is refused)
   */
  async putApproval(request: ApprovalRequest, taskToken: string, ttl: number, link: { expiresAt?: number } = {}): Promise<void> {
    const { db, name } = this.table;
    const notice = { lastNotifiedAt: request.createdAt, ...(link.expiresAt !== undefined ? { linkExpiresAt: link.expiresAt } : {}) };
    await db.send(
      new PutCommand({ TableName: name, Item: { ...approvalRecordKey(request.approvalId), ...request, taskToken, state: 'PENDING', ...notice, ttl } }),
    );
    await db.send(
      new PutCommand({
        TableName: name,
        Item: {
          ...pendingApprovalKey(request.approvalId),
          approvalId: request.approvalId,
          cluster: request.cluster,
          runId: request.runId,
          nodeId: request.nodeId,
          createdAt: request.createdAt,
          ttl,
        },
      }),
    );
  }

  async getApproval(approvalId: string): Promise<StoredApproval | null> {
    const out = await this.table.db.send(new GetCommand({ TableName: this.table.name, Key: approvalRecordKey(approvalId) }));
    return out.Item === undefined ? null : (withoutKey(out.Item) as unknown as StoredApproval);
  }

  /** Marks an approval decided, once: false when it was already decided (or does not exist). */
  async claimApproval(approvalId: string, decision: ApprovalDecision): Promise<boolean> {
    const { db, name } = this.table;
    try {
      await db.send(
        new UpdateCommand({
          TableName: name,
          Key: approvalRecordKey(approvalId),
          ConditionExpression: '#state = :pending',
          UpdateExpression: `SET #state = :decided, decision = :decision, decidedBy = :by, decidedAt = :at, byTimeout = :timeout${decision.decidedIdentity ? ', decidedIdentity = :identity' : ''}`,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':pending': 'PENDING',
            ':decided': 'DECIDED',
            ':decision': decision.decision,
            ':by': decision.decidedBy,
            ':at': decision.decidedAt,
            ':timeout': decision.byTimeout,
            ...(decision.decidedIdentity ? { ':identity': decision.decidedIdentity } : {}),
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
    await db.send(new DeleteCommand({ TableName: name, Key: pendingApprovalKey(approvalId) }));
    return true;
  }

  /** Undoes a claim whose answer could not be delivered, so the decision can be made again. */
  async unclaimApproval(approval: StoredApproval, decidedAt: string): Promise<void> {
    const { db, name } = this.table;
    try {
      await db.send(
        new UpdateCommand({
          TableName: name,
          Key: approvalRecordKey(approval.approvalId),
          ConditionExpression: '#state = :decided AND decidedAt = :at',
          UpdateExpression: 'SET #state = :pending REMOVE decision, decidedBy, decidedAt, byTimeout, decidedIdentity',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':decided': 'DECIDED', ':pending': 'PENDING', ':at': decidedAt },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
    await db.send(
      new PutCommand({
        TableName: name,
        Item: {
          ...pendingApprovalKey(approval.approvalId),
          approvalId: approval.approvalId,
          cluster: approval.cluster,
          runId: approval.runId,
          nodeId: approval.nodeId,
          createdAt: approval.createdAt,
          ttl: approval.ttl,
        },
      }),
    );
  }

  /**
   * Step Functions refused the answer of a claimed decision (the task timed out, or its run ended): the run
   * applied its onTimeout decision, so that is what the approval records, with the late attempt beside it.
   * Only over this attempt's own claim; returns the approval as it then is.
   *
   *   PENDING ──(claimed by the late attempt)──► DECIDED (its decision) ──(task no longer waits)──► DECIDED (onTimeout, byTimeout, lateAttempt)
   */
  async recordLateAttempt(approval: StoredApproval, late: ApprovalDecision, at: string): Promise<StoredApproval | null> {
    const { db, name } = this.table;
    try {
      await db.send(
        new UpdateCommand({
          TableName: name,
          Key: approvalRecordKey(approval.approvalId),
          ConditionExpression: '#state = :decided AND decidedAt = :claimedAt AND decidedBy = :claimedBy',
          UpdateExpression: 'SET decision = :applied, decidedBy = :timeout, decidedAt = :at, byTimeout = :true, lateAttempt = :late REMOVE decidedIdentity',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':decided': 'DECIDED',
            ':claimedAt': late.decidedAt,
            ':claimedBy': late.decidedBy,
            ':applied': approval.onTimeout,
            ':timeout': 'timeout',
            ':at': at,
            ':true': true,
            ':late': { decision: late.decision, by: late.decidedBy, at: late.decidedAt, ...(late.decidedIdentity ? { identity: late.decidedIdentity } : {}) },
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    return this.getApproval(approval.approvalId);
  }

  /**
   * Records a reminder about to be emailed, once: only while the approval is still PENDING and nobody recorded
   * an email since `seen` (what the sweep read), so two overlapping sweeps never send the same reminder twice.
   * False when the condition failed: the other sweep sends it, or a decision made it moot.
   *
   *   read (lastNotifiedAt = t0) ──► record (if lastNotifiedAt = t0: set t1, reminded, linkExpiresAt) ──► publish
   *   a second sweep that read t0 ──► record fails (lastNotifiedAt is t1) ──► sends nothing
   */
  async recordReminder(seen: StoredApproval, record: ReminderRecord): Promise<boolean> {
    const stillPending = '#state = :pending';
    const noEmailSinceRead = seen.lastNotifiedAt === undefined ? 'attribute_not_exists(lastNotifiedAt)' : 'lastNotifiedAt = :seen';
    try {
      await this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: approvalRecordKey(seen.approvalId),
          ConditionExpression: `${stillPending} AND ${noEmailSinceRead}`,
          UpdateExpression: `SET reminded = :reminded, lastNotifiedAt = :at${record.linkExpiresAt !== undefined ? ', linkExpiresAt = :linkExp' : ''}`,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':pending': 'PENDING',
            ':reminded': record.reminded,
            ':at': record.notifiedAt,
            ...(seen.lastNotifiedAt !== undefined ? { ':seen': seen.lastNotifiedAt } : {}),
            ...(record.linkExpiresAt !== undefined ? { ':linkExp': record.linkExpiresAt } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Approvals waiting for a human, oldest first. */
  async pendingApprovals(): Promise<StoredApproval[]> {
    const pointers = await this.table.query(PENDING_APPROVALS_PK, SK_PREFIX.pendingApproval);
    const found = await Promise.all(pointers.map((p) => this.getApproval(String(p.approvalId))));
    return found.filter((a): a is StoredApproval => a !== null && a.state === 'PENDING').sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}
