import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ApprovalDecision, ApprovalRequest } from '../core/approval.js';
import type { ReminderKind } from '../core/approval-reminders.js';
import { written } from './if-condition-fails.js';
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

/**
 * Approval requests (`APPROVAL#id`) and the pointers to those still waiting for a human (`APPROVALS#PENDING`).
 * The task token a decision answers stays here; links carry only the approval id.
 *
 *   PENDING ──(POST / CLI / timeout: conditional on PENDING)──► DECIDED   (a second decision is refused)
 */
export interface ApprovalStore {
  /** Records a request, PENDING, with its task token and the expiry of the link emailed about it. */
  putApproval(request: ApprovalRequest, taskToken: string, ttl: number, link?: { expiresAt?: number }): Promise<void>;
  getApproval(approvalId: string): Promise<StoredApproval | null>;
  /** Marks an approval decided, once: false when it was already decided (or does not exist). */
  claimApproval(approvalId: string, decision: ApprovalDecision): Promise<boolean>;
  /** Undoes a claim whose answer could not be delivered (that claim only), so the decision can be made again. */
  unclaimApproval(approval: StoredApproval, decidedAt: string): Promise<void>;
  /** The task stopped waiting before this claim's answer reached it: records the onTimeout applied, the attempt beside it. */
  recordLateAttempt(approval: StoredApproval, late: ApprovalDecision, at: string): Promise<StoredApproval | null>;
  /** Records a reminder about to be emailed, once per email: false when another sweep or a decision came first. */
  recordReminder(seen: StoredApproval, record: ReminderRecord): Promise<boolean>;
  /** Approvals waiting for a human, oldest first. */
  pendingApprovals(): Promise<StoredApproval[]>;
}

const stillPending = '#state = :pending';

/** The pointer that lists an approval as waiting for a human. */
const pendingPointer = (a: Pick<StoredApproval, 'approvalId' | 'cluster' | 'runId' | 'nodeId' | 'createdAt' | 'ttl'>) => ({
  ...pendingApprovalKey(a.approvalId),
  approvalId: a.approvalId,
  cluster: a.cluster,
  runId: a.runId,
  nodeId: a.nodeId,
  createdAt: a.createdAt,
  ttl: a.ttl,
});

/** Approvals in the single table: the request's own item and, while it waits, its pointer. */
export class DynamoDBApprovalStore implements ApprovalStore {
  constructor(private readonly table: Table) {}

  /** The request's item first: a pointer never lists an approval that is not recorded. */
  async putApproval(request: ApprovalRequest, taskToken: string, ttl: number, link: { expiresAt?: number } = {}): Promise<void> {
    const { db, name } = this.table;
    const notice = { lastNotifiedAt: request.createdAt, ...(link.expiresAt !== undefined ? { linkExpiresAt: link.expiresAt } : {}) };
    await db.send(
      new PutCommand({ TableName: name, Item: { ...approvalRecordKey(request.approvalId), ...request, taskToken, state: 'PENDING', ...notice, ttl } }),
    );
    await db.send(new PutCommand({ TableName: name, Item: pendingPointer({ ...request, ttl }) }));
  }

  async getApproval(approvalId: string): Promise<StoredApproval | null> {
    const item = await this.table.get(approvalRecordKey(approvalId));
    return item === undefined ? null : (withoutKey(item) as unknown as StoredApproval);
  }

  async claimApproval(approvalId: string, decision: ApprovalDecision): Promise<boolean> {
    const { db, name } = this.table;
    const claimed = await written(
      db.send(
        new UpdateCommand({
          TableName: name,
          Key: approvalRecordKey(approvalId),
          ConditionExpression: stillPending,
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
      ),
    );
    if (claimed) await db.send(new DeleteCommand({ TableName: name, Key: pendingApprovalKey(approvalId) }));
    return claimed;
  }

  async unclaimApproval(approval: StoredApproval, decidedAt: string): Promise<void> {
    const { db, name } = this.table;
    const thisClaim = '#state = :decided AND decidedAt = :at';
    const unclaimed = await written(
      db.send(
        new UpdateCommand({
          TableName: name,
          Key: approvalRecordKey(approval.approvalId),
          ConditionExpression: thisClaim,
          UpdateExpression: 'SET #state = :pending REMOVE decision, decidedBy, decidedAt, byTimeout, decidedIdentity',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':decided': 'DECIDED', ':pending': 'PENDING', ':at': decidedAt },
        }),
      ),
    );
    if (unclaimed) await db.send(new PutCommand({ TableName: name, Item: pendingPointer(approval) }));
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
    const thisAttemptsClaim = '#state = :decided AND decidedAt = :claimedAt AND decidedBy = :claimedBy';
    await written(
      db.send(
        new UpdateCommand({
          TableName: name,
          Key: approvalRecordKey(approval.approvalId),
          ConditionExpression: thisAttemptsClaim,
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
      ),
    );
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
  recordReminder(seen: StoredApproval, record: ReminderRecord): Promise<boolean> {
    const noEmailSinceRead = seen.lastNotifiedAt === undefined ? 'attribute_not_exists(lastNotifiedAt)' : 'lastNotifiedAt = :seen';
    return written(
      this.table.db.send(
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
      ),
    );
  }

  async pendingApprovals(): Promise<StoredApproval[]> {
    const pointers = await this.table.query(PENDING_APPROVALS_PK, SK_PREFIX.pendingApproval);
    const found = await Promise.all(pointers.map((p) => this.getApproval(String(p.approvalId))));
    return found.filter((a): a is StoredApproval => a !== null && a.state === 'PENDING').sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}
