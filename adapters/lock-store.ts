import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ClusterLockedError } from '../core/errors.js';
import { ifConditionFails, written } from './if-condition-fails.js';
import { lockKey } from './keys.js';
import type { Table } from './table.js';

/** Which run holds a cluster's lock, until when. */
export interface LockRecord {
  runId: string;
  expiresAt: string;
}

/**
 * The cluster lock (`CLUSTER#c` / `LOCK`): one run at a time upgrades a cluster.
 *
 *   free ──acquire──► held by R until T ──(R renews at every node it starts)──► held by R until T'
 *                            │   └─ R asks again: re-entrant (a Lambda retry must not lock itself out)
 *                            └─(T passes: R stopped renewing, may have crashed)──► still held: only
 *                               `fleet-upgrade unlock --cluster C --run R` breaks it, never another run
 */
export interface LockStore {
  /** Takes the lock for the run (again, if it holds it); throws ClusterLockedError naming the run that holds it. */
  acquireLock(cluster: string, runId: string, now: Date, ttlSeconds: number): Promise<{ expiresAt: string }>;
  /** Extends the run's hold, never shortening it; false when the run no longer holds the lock (broken with unlock). */
  renewLock(cluster: string, runId: string, now: Date, ttlSeconds: number): Promise<boolean>;
  /** Releases the lock if this run holds it; true when the cluster is no longer locked by this run. */
  releaseLock(cluster: string, runId: string): Promise<boolean>;
  getLock(cluster: string): Promise<LockRecord | null>;
}

// The conditions' parts, named for what they mean.
const lockIsFree = 'attribute_not_exists(pk)';
const heldByThisRun = 'runId = :run';
const expiresBefore = '(attribute_not_exists(expiresAt) OR expiresAt < :until)';

const until = (now: Date, ttlSeconds: number): string => new Date(now.getTime() + ttlSeconds * 1000).toISOString();

/** The lock as one conditional item. */
export class DynamoDBLockStore implements LockStore {
  constructor(private readonly table: Table) {}

  async acquireLock(cluster: string, runId: string, now: Date, ttlSeconds: number): Promise<{ expiresAt: string }> {
    const expiresAt = until(now, ttlSeconds);
    const put = this.table.db.send(
      new PutCommand({
        TableName: this.table.name,
        Item: { ...lockKey(cluster), runId, acquiredAt: now.toISOString(), expiresAt },
        ConditionExpression: `${lockIsFree} OR ${heldByThisRun}`,
        ExpressionAttributeValues: { ':run': runId },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return ifConditionFails(
      put.then(() => ({ expiresAt })),
      (old) => {
        throw new ClusterLockedError(cluster, old?.runId?.S ?? 'unknown', old?.expiresAt?.S ?? 'unknown', now);
      },
    );
  }

  async renewLock(cluster: string, runId: string, now: Date, ttlSeconds: number): Promise<boolean> {
    const renew = this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: lockKey(cluster),
        UpdateExpression: 'SET expiresAt = :until, renewedAt = :now',
        ConditionExpression: `${heldByThisRun} AND ${expiresBefore}`,
        ExpressionAttributeValues: { ':until': until(now, ttlSeconds), ':now': now.toISOString(), ':run': runId },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    // Refused but still ours: a later expiry is already set (a node waiting for a decision renewed for longer).
    return ifConditionFails(
      renew.then(() => true),
      (old) => old?.runId?.S === runId,
    );
  }

  releaseLock(cluster: string, runId: string): Promise<boolean> {
    // Refused: another run holds it (ours expired and was broken), not ours to release.
    return written(
      this.table.db.send(
        new DeleteCommand({
          TableName: this.table.name,
          Key: lockKey(cluster),
          ConditionExpression: `${lockIsFree} OR ${heldByThisRun}`,
          ExpressionAttributeValues: { ':run': runId },
        }),
      ),
    );
  }

  async getLock(cluster: string): Promise<LockRecord | null> {
    const item = await this.table.get(lockKey(cluster));
    return item === undefined ? null : { runId: String(item.runId), expiresAt: String(item.expiresAt) };
  }
}
