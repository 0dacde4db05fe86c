import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type BatchWriteCommandInput,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ClusterLockedError } from '../core/errors.js';
import { CLUSTER_STEPS, stepNumber, type StepId } from '../core/steps.js';
import type { NodeOutcome, RunInfo, StepCheckpoint, Summary } from '../core/summary.js';
import type { ApprovalDecision, ApprovalRequest } from '../core/approval.js';

/**
 * The single table (`pk`/`sk`):
 *   CLUSTER#c / NODE#id        the node's recorded version, previousVersion, status, lastRun
 *   CLUSTER#c / LOCK           which run holds the cluster, until when
 *   CLUSTER#c / RUN#id         the run: plan facts, status, summary (compacted when large)
 *   RUN#id    / STOP           the run is stopping (a node failed, was rolled back or aborted): no new node starts
 *   RUN#id    / HOLD#id        a question about node id is open (its step failed): no new node starts until it is answered
 *   RUN#id    / HELD#id        node id was held by open questions: its task token while it waits, how long it waited
 *   RUN#id    / PLAN#id        a node of the run: its place in the order, roles, version known when planned
 *   RUN#id    / NODE#id        how the node's part of the run ended
 *   RUN#id    / NODE#id#STEP#nn  step checkpoints;  RUN#id / CLUSTER#STEP#nn  maintenance mode steps
 *   COMMAND#id / COMMAND       the task token waiting for an SSM command (never in a URL; TTL-expired)
 *   APPROVAL#id / APPROVAL     an approval request: evidence, state, decision, its task token (TTL-expired)
 *   APPROVALS#PENDING / APPROVAL#id  pointer to an approval still waiting for a human
 */
export class FleetStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Takes the cluster lock for a run.
   *
   *   free ──acquire──► held by R until T ──(R renews at every node it starts)──► held by R until T'
   *                            │   └─ R asks again: re-entrant (a Lambda retry must not lock itself out)
   *                            └─(T passes: R stopped renewing, may have crashed)──► still held: only
   *                               `fleet-upgrade unlock --cluster C --run R` breaks it, never another run
   */
  async acquireLock(cluster: string, runId: string, now: Date, ttlSeconds: number): Promise<{ expiresAt: string }> {
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `CLUSTER#${cluster}`, sk: 'LOCK', runId, acquiredAt: now.toISOString(), expiresAt },
          ConditionExpression: 'attribute_not_exists(pk) OR runId = :run',
          ExpressionAttributeValues: { ':run': runId },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { expiresAt };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const old = error.Item;
        throw new ClusterLockedError(cluster, String(old?.runId?.S ?? 'unknown'), String(old?.expiresAt?.S ?? 'unknown'), now);
      }
      throw error;
    }
  }

  /**
   * Extends the run's hold on the lock, never shortening it (a node that starts while another waits for a
   * decision keeps the longer hold); false when the run no longer holds it (broken with unlock).
   */
  async renewLock(cluster: string, runId: string, now: Date, ttlSeconds: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `CLUSTER#${cluster}`, sk: 'LOCK' },
          UpdateExpression: 'SET expiresAt = :until, renewedAt = :now',
          ConditionExpression: 'runId = :run AND (attribute_not_exists(expiresAt) OR expiresAt < :until)',
          ExpressionAttributeValues: { ':until': new Date(now.getTime() + ttlSeconds * 1000).toISOString(), ':now': now.toISOString(), ':run': runId },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      // Still ours, with a later expiry already: held.
      if (error instanceof ConditionalCheckFailedException) return error.Item?.runId?.S === runId;
      throw error;
    }
  }

  /** Releases the lock if this run holds it. True when the cluster is no longer locked by this run. */
  async releaseLock(cluster: string, runId: string): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: `CLUSTER#${cluster}`, sk: 'LOCK' },
          ConditionExpression: 'attribute_not_exists(pk) OR runId = :run',
          ExpressionAttributeValues: { ':run': runId },
        }),
      );
      return true;
    } catch (error) {
      // Another run holds it (ours expired and was taken): not ours to release.
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async getLock(cluster: string): Promise<{ runId: string; expiresAt: string } | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `CLUSTER#${cluster}`, sk: 'LOCK' } }));
    return out.Item === undefined ? null : { runId: String(out.Item.runId), expiresAt: String(out.Item.expiresAt) };
  }

  /** Versions recorded for the cluster's nodes (used by the plan; the node's own check stays the authority). */
  async knownVersions(cluster: string): Promise<Map<string, string>> {
    const items = await this.queryAll(`CLUSTER#${cluster}`, 'NODE#');
    const known = new Map<string, string>();
    for (const item of items) if (typeof item.version === 'string') known.set(String(item.nodeId), item.version);
    return known;
  }

  async getNodeRecord(cluster: string, nodeId: string): Promise<Record<string, unknown> | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `CLUSTER#${cluster}`, sk: `NODE#${nodeId}` } }));
    return out.Item ?? null;
  }

  /** Every node record of a cluster (`CLUSTER#c` / `NODE#id`): roles, version, previousVersion, status, lastRun. */
  async nodeRecords(cluster: string): Promise<Record<string, unknown>[]> {
    return (await this.queryAll(`CLUSTER#${cluster}`, 'NODE#')).map(({ pk: _pk, sk: _sk, ...rest }) => rest);
  }

  /** Every run of a cluster (`CLUSTER#c` / `RUN#id`), oldest first by start time. */
  async listRuns(cluster: string): Promise<{ runId: string; cluster: string; targetVersion: string; startedAt: string; status: string; finishedAt?: string }[]> {
    const items = await this.queryAll(`CLUSTER#${cluster}`, 'RUN#');
    return (items.map(({ pk: _pk, sk: _sk, ...rest }) => rest) as unknown as { runId: string; cluster: string; targetVersion: string; startedAt: string; status: string; finishedAt?: string }[])
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  /**
   * Records a planned run. The per-node facts (order, roles, version known at planning) go in one item per
   * node (`RUN#id` / `PLAN#<node>`), so a run of thousands of nodes stays far below the 400 KB item limit.
   */
  async putRun(run: RunInfo): Promise<void> {
    const { order, roles, plannedFrom, ...facts } = run;
    const items = order.map((nodeId, seq) => ({
      pk: `RUN#${run.runId}`,
      sk: `PLAN#${nodeId}`,
      nodeId,
      seq,
      roles: roles[nodeId] ?? [],
      ...(plannedFrom[nodeId] ? { plannedFrom: plannedFrom[nodeId] } : {}),
    }));
    for (let i = 0; i < items.length; i += 25) {
      let requests: BatchWriteCommandInput['RequestItems'] = { [this.table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) };
      for (let attempt = 0; requests !== undefined && Object.keys(requests).length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
        const out: BatchWriteCommandOutput = await this.db.send(new BatchWriteCommand({ RequestItems: requests }));
        requests = out.UnprocessedItems;
      }
    }
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `CLUSTER#${run.cluster}`, sk: `RUN#${run.runId}`, ...facts, nodeCount: order.length, status: 'RUNNING' },
      }),
    );
  }

  async getRun(cluster: string, runId: string): Promise<(RunInfo & { status: string; summary?: Summary }) | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `CLUSTER#${cluster}`, sk: `RUN#${runId}` } }));
    if (out.Item === undefined) return null;
    const planned = (await this.queryAll(`RUN#${runId}`, 'PLAN#')) as unknown as { nodeId: string; seq: number; roles: string[]; plannedFrom?: string }[];
    planned.sort((a, b) => a.seq - b.seq);
    const { pk: _pk, sk: _sk, nodeCount: _count, ...facts } = out.Item;
    return {
      ...(facts as Omit<RunInfo, 'order' | 'roles' | 'plannedFrom'> & { status: string; summary?: Summary }),
      order: planned.map((p) => p.nodeId),
      roles: Object.fromEntries(planned.map((p) => [p.nodeId, p.roles])),
      plannedFrom: Object.fromEntries(planned.map((p) => [p.nodeId, p.plannedFrom ?? null])),
    };
  }

  /** The run's own item only (not its plan): whether it is recorded, and summarized. */
  async runFacts(cluster: string, runId: string): Promise<{ status: string; summarized: boolean } | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `CLUSTER#${cluster}`, sk: `RUN#${runId}` }, ProjectionExpression: '#s, finishedAt', ExpressionAttributeNames: { '#s': 'status' } }));
    if (out.Item === undefined) return null;
    // completeRun writes finishedAt with the summary (projected instead of the summary, which may be large).
    return { status: String(out.Item.status), summarized: out.Item.finishedAt !== undefined };
  }

  /** A node's roles as the run planned them (one read, whatever the size of the run). */
  async plannedRoles(runId: string, nodeId: string): Promise<string[] | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `RUN#${runId}`, sk: `PLAN#${nodeId}` } }));
    return (out.Item?.roles as string[] | undefined) ?? null;
  }

  async completeRun(summary: Summary): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `CLUSTER#${summary.cluster}`, sk: `RUN#${summary.runId}` },
        UpdateExpression: 'SET #status = :status, finishedAt = :at, summary = :summary',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': summary.status, ':at': summary.finishedAt, ':summary': summary },
      }),
    );
  }

  /**
   * Records an approval request with the task token that its decision answers. The token stays here;
   * links carry only the approval id. A pointer under `APPROVALS#PENDING` lists what waits for a human.
   *
   *   PENDING ──(POST / CLI / timeout: conditional on PENDING)──► DECIDED   (a second decision is refused)
   */
  async putApproval(request: ApprovalRequest, taskToken: string, ttl: number): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: `APPROVAL#${request.approvalId}`, sk: 'APPROVAL', ...request, taskToken, state: 'PENDING', ttl } }));
    await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: 'APPROVALS#PENDING', sk: `APPROVAL#${request.approvalId}`, approvalId: request.approvalId, cluster: request.cluster, runId: request.runId, nodeId: request.nodeId, createdAt: request.createdAt, ttl } }));
  }

  async getApproval(approvalId: string): Promise<StoredApproval | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `APPROVAL#${approvalId}`, sk: 'APPROVAL' } }));
    if (out.Item === undefined) return null;
    const { pk: _pk, sk: _sk, ...rest } = out.Item;
    return rest as StoredApproval;
  }

  /** Marks an approval decided, once: false when it was already decided (or does not exist). */
  async claimApproval(approvalId: string, decision: ApprovalDecision): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `APPROVAL#${approvalId}`, sk: 'APPROVAL' },
          ConditionExpression: '#state = :pending',
          UpdateExpression: 'SET #state = :decided, decision = :decision, decidedBy = :by, decidedAt = :at, byTimeout = :timeout',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':pending': 'PENDING', ':decided': 'DECIDED', ':decision': decision.decision, ':by': decision.decidedBy, ':at': decision.decidedAt, ':timeout': decision.byTimeout,
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { pk: 'APPROVALS#PENDING', sk: `APPROVAL#${approvalId}` } }));
    return true;
  }

  /** Undoes a claim whose answer could not be delivered, so the decision can be made again. */
  async unclaimApproval(approval: StoredApproval, decidedAt: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `APPROVAL#${approval.approvalId}`, sk: 'APPROVAL' },
          ConditionExpression: '#state = :decided AND decidedAt = :at',
          UpdateExpression: 'SET #state = :pending REMOVE decision, decidedBy, decidedAt, byTimeout',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':decided': 'DECIDED', ':pending': 'PENDING', ':at': decidedAt },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
    await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: 'APPROVALS#PENDING', sk: `APPROVAL#${approval.approvalId}`, approvalId: approval.approvalId, cluster: approval.cluster, runId: approval.runId, nodeId: approval.nodeId, createdAt: approval.createdAt, ttl: approval.ttl } }));
  }

  /** Approvals waiting for a human, oldest first. */
  async pendingApprovals(): Promise<StoredApproval[]> {
    const pointers = await this.queryAll('APPROVALS#PENDING', 'APPROVAL#');
    const found = await Promise.all(pointers.map((p) => this.getApproval(String(p.approvalId))));
    return found.filter((a): a is StoredApproval => a !== null && a.state === 'PENDING').sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async getCommand(commandId: string): Promise<(PendingCommand & { state: string }) | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `COMMAND#${commandId}`, sk: 'COMMAND' } }));
    return (out.Item as (PendingCommand & { state: string }) | undefined) ?? null;
  }

  /**
   * Takes the right to answer a command's task, once:
   *
   *   PENDING ──claim──► ANSWERING ──answered──► ANSWERED
   *      ▲                   │
   *      └──(answer failed)──┤──(task no longer waits)──► STALE   (a retry of the step takes the result)
   *
   * Returns the claimed command with the token it answers now (run-step may have re-pointed it), or null
   * when someone else claimed it first (a duplicate event, or the reconcile after a timeout).
   */
  async claimCommand(commandId: string, now: Date): Promise<(PendingCommand & { state: string }) | null> {
    const claim = await this.tryClaimCommand(commandId, now);
    return claim.outcome === 'claimed' ? claim.command : null;
  }

  /**
   * claimCommand in one request, saying why a claim failed: the command is not recorded (yet: run-step
   * records it just after SendCommand, and a quick command can end first), or it is no longer PENDING.
   */
  async tryClaimCommand(commandId: string, now: Date): Promise<
    { outcome: 'claimed'; command: PendingCommand & { state: string } } | { outcome: 'missing' } | { outcome: 'taken'; state: string }
  > {
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `COMMAND#${commandId}`, sk: 'COMMAND' },
          UpdateExpression: 'SET #state = :answering, claimedAt = :at',
          ConditionExpression: '#state = :pending',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':answering': 'ANSWERING', ':pending': 'PENDING', ':at': now.toISOString() },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { outcome: 'claimed', command: out.Attributes as PendingCommand & { state: string } };
    } catch (error) {
      // The exception carries the old item unconverted (DynamoDB's attribute-value form): only its state is read.
      if (error instanceof ConditionalCheckFailedException) {
        const state = error.Item?.state?.S;
        return state === undefined ? { outcome: 'missing' } : { outcome: 'taken', state };
      }
      throw error;
    }
  }

  /** Ends a claim: ANSWERED (the task took the result), STALE (it no longer waited) or back to PENDING (answering failed). */
  async settleCommand(commandId: string, state: 'ANSWERED' | 'STALE' | 'PENDING', now: Date): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `COMMAND#${commandId}`, sk: 'COMMAND' },
        UpdateExpression: 'SET #state = :state, settledAt = :at',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':state': state, ':at': now.toISOString() },
      }),
    );
  }

  /**
   * A retried step task takes over the command its earlier attempt started (the node never runs the step
   * twice): the completion then answers the new token. False when the command was claimed meanwhile.
   */
  async repointCommand(commandId: string, taskToken: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `COMMAND#${commandId}`, sk: 'COMMAND' },
          UpdateExpression: 'SET taskToken = :token',
          ConditionExpression: '#state = :pending',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':token': taskToken, ':pending': 'PENDING' },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Registers a step's command, then points its RUNNING checkpoint at it. In this order: a retry that finds
   * the checkpoint pointing at a command must find the command too (else it would send the step again).
   * Not one transaction: the status event's claim may write the command item at the same moment, and a
   * transaction would make that a TransactionConflict for one of them; both writes are done before a
   * script of any length ends, so they cost the step no time.
   */
  async recordCommand(command: PendingCommand): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: `COMMAND#${command.commandId}`, sk: 'COMMAND', ...command, state: 'PENDING' } }));
    await this.setCheckpointCommand(command.runId, command.nodeId, command.step, command.commandId, command.timeoutSeconds);
  }

  /**
   * Writes a step's first RUNNING checkpoint, in one request when the step has none (its first attempt).
   * Returns null when written; otherwise the checkpoint an earlier attempt left, untouched, for the caller
   * to decide (take over its command, or run the step again).
   */
  async startCheckpoint(runId: string, checkpoint: StepCheckpoint): Promise<StepCheckpoint | null> {
    const Key = { pk: `RUN#${runId}`, sk: checkpointKey(checkpoint.nodeId, checkpoint.step) };
    try {
      await this.db.send(new PutCommand({ TableName: this.table, Item: { ...Key, ...checkpoint }, ConditionExpression: 'attribute_not_exists(pk)' }));
      return null;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key, ConsistentRead: true }));
    if (out.Item === undefined) throw new Error(`checkpoint ${Key.sk} of run ${runId} vanished while the step started`);
    const { pk: _pk, sk: _sk, ...previous } = out.Item;
    return previous as StepCheckpoint;
  }

  /**
   * Writes a step's final checkpoint in one request: every field of `checkpoint` is set, startedAt only when
   * the step has none yet (the RUNNING checkpoint's time is kept), and earlierAttempts stays as it is.
   */
  async finishCheckpoint(runId: string, checkpoint: Omit<StepCheckpoint, 'earlierAttempts'>): Promise<void> {
    const { startedAt, ...fields } = checkpoint;
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `RUN#${runId}`, sk: checkpointKey(checkpoint.nodeId, checkpoint.step) },
        UpdateExpression: `SET ${entries.map(([, ], i) => `#f${i} = :f${i}`).join(', ')}, startedAt = if_not_exists(startedAt, :startedAt)`,
        ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k])),
        ExpressionAttributeValues: { ...Object.fromEntries(entries.map(([, v], i) => [`:f${i}`, v])), ':startedAt': startedAt },
      }),
    );
  }

  /** Notes on a RUNNING checkpoint which command runs the step, so a retry or reconcile can find it. */
  async setCheckpointCommand(runId: string, nodeId: string, step: StepId, commandId: string, timeoutSeconds: number | undefined): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `RUN#${runId}`, sk: checkpointKey(nodeId, step) },
        UpdateExpression: timeoutSeconds === undefined ? 'SET commandId = :id' : 'SET commandId = :id, timeoutSeconds = :timeout',
        ExpressionAttributeValues: { ':id': commandId, ...(timeoutSeconds === undefined ? {} : { ':timeout': timeoutSeconds }) },
      }),
    );
  }

  async putCheckpoint(runId: string, checkpoint: StepCheckpoint): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.table, Item: { pk: `RUN#${runId}`, sk: checkpointKey(checkpoint.nodeId, checkpoint.step), ...checkpoint } }),
    );
  }

  async getCheckpoint(runId: string, nodeId: string, step: StepId): Promise<StepCheckpoint | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `RUN#${runId}`, sk: checkpointKey(nodeId, step) } }));
    return (out.Item as StepCheckpoint | undefined) ?? null;
  }

  /** Records how a node's part of the run ended, and the node's own record when its version changed or was learned. */
  async recordOutcome(cluster: string, runId: string, roles: string[], outcome: NodeOutcome): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: `RUN#${runId}`, sk: `NODE#${outcome.nodeId}`, ...outcome } }));
    // Only a known version is recorded: a node that failed after it changed waits for rollback to say where it is.
    const version = outcome.to;
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `CLUSTER#${cluster}`, sk: `NODE#${outcome.nodeId}` },
        UpdateExpression:
          'SET nodeId = :id, #roles = :roles, #status = :status, lastRun = :run, updatedAt = :at' +
          (version === null ? '' : ', version = :version') +
          (outcome.status === 'UPGRADED' && outcome.from !== null ? ', previousVersion = :from' : ''),
        ExpressionAttributeNames: { '#roles': 'roles', '#status': 'status' },
        ExpressionAttributeValues: {
          ':id': outcome.nodeId,
          ':roles': roles,
          ':status': outcome.status,
          ':run': runId,
          ':at': outcome.at,
          ...(version === null ? {} : { ':version': version }),
          ...(outcome.status === 'UPGRADED' && outcome.from !== null ? { ':from': outcome.from } : {}),
        },
      }),
    );
  }

  /** Marks the run as stopping: nodes not yet started stay untouched; the first reason is kept. */
  async markRunStopping(runId: string, reason: string, at: string): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({ TableName: this.table, Item: { pk: `RUN#${runId}`, sk: 'STOP', reason, at }, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Read strongly consistent: a held node is released right after the stop mark is written, and an eventually
   * consistent read could miss it and let the node start after a rollback or abort was decided.
   */
  async runStopping(runId: string): Promise<{ reason: string; at: string } | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `RUN#${runId}`, sk: 'STOP' }, ConsistentRead: true }));
    return out.Item === undefined ? null : { reason: String(out.Item.reason), at: String(out.Item.at) };
  }

  /**
   * Holds the run for a question about `nodeId` (its step failed and the operator is asked): from now on no
   * node starts until the hold is closed. Re-opening an open hold (a retried ask) keeps its first time.
   */
  async openHold(runId: string, nodeId: string, step: string, at: string): Promise<void> {
    try {
      await this.db.send(new PutCommand({
        TableName: this.table,
        Item: { pk: `RUN#${runId}`, sk: `HOLD#${nodeId}`, nodeId, step, at },
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** The question about `nodeId` is answered (its outcome is recorded); true when a hold was open. */
  async closeHold(runId: string, nodeId: string): Promise<boolean> {
    const out = await this.db.send(new DeleteCommand({ TableName: this.table, Key: { pk: `RUN#${runId}`, sk: `HOLD#${nodeId}` }, ReturnValues: 'ALL_OLD' }));
    return out.Attributes !== undefined;
  }

  /**
   * The open holds, read strongly consistent: a node that registers as held and a node that closes the last
   * hold each read after their own write, so at least one of them sees the other (no held node is forgotten).
   */
  async openHolds(runId: string): Promise<RunHold[]> {
    const items = await this.queryAll(`RUN#${runId}`, 'HOLD#', true);
    return items.map((i) => ({ nodeId: String(i.nodeId), step: String(i.step), at: String(i.at) }));
  }

  /**
   * A node waits for the open holds with the task token of its waiting state. A node held again (another
   * failure later) starts a new wait; the time it waited before is kept.
   */
  async holdNode(runId: string, nodeId: string, taskToken: string, waitingFor: readonly string[], at: string): Promise<void> {
    await this.db.send(new UpdateCommand({
      TableName: this.table,
      Key: { pk: `RUN#${runId}`, sk: `HELD#${nodeId}` },
      UpdateExpression: 'SET nodeId = :id, taskToken = :token, since = if_not_exists(since, :at), heldMs = if_not_exists(heldMs, :zero)' +
        (waitingFor.length > 0 ? ' ADD waitedFor :for' : ''),
      ExpressionAttributeValues: { ':id': nodeId, ':token': taskToken, ':at': at, ':zero': 0, ...(waitingFor.length > 0 ? { ':for': new Set(waitingFor) } : {}) },
    }));
  }

  /** The nodes held in this run, waiting or not (strongly consistent, as `openHolds`). */
  async heldNodes(runId: string): Promise<HeldNode[]> {
    const items = await this.queryAll(`RUN#${runId}`, 'HELD#', true);
    return items.map(heldNodeOf);
  }

  /**
   * Ends a node's wait: adds the time it waited and forgets its token. Conditional on the token, so a wait the
   * node started again meanwhile (its waiting state timed out and asked anew) is not ended by an older release.
   */
  async releaseHeldNode(runId: string, held: HeldNode, at: string): Promise<boolean> {
    if (held.taskToken === undefined || held.since === undefined) return false;
    const waited = Math.max(0, Date.parse(at) - Date.parse(held.since));
    try {
      await this.db.send(new UpdateCommand({
        TableName: this.table,
        Key: { pk: `RUN#${runId}`, sk: `HELD#${held.nodeId}` },
        UpdateExpression: 'SET heldMs = heldMs + :waited, releasedAt = :at REMOVE taskToken, since',
        ConditionExpression: 'taskToken = :token',
        ExpressionAttributeValues: { ':waited': waited, ':at': at, ':token': held.taskToken },
      }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Everything a run recorded: step checkpoints (node and cluster steps), node outcomes, and held nodes. */
  async runRecords(runId: string): Promise<{ checkpoints: StepCheckpoint[]; outcomes: NodeOutcome[]; held: HeldNode[] }> {
    const items = await this.queryAll(`RUN#${runId}`);
    const checkpoints: StepCheckpoint[] = [];
    const outcomes: NodeOutcome[] = [];
    const held: HeldNode[] = [];
    for (const item of items) {
      const { pk: _pk, sk: _sk, ...rest } = item;
      const sk = String(item.sk);
      if (typeof item.step === 'string' && !sk.startsWith('HOLD#')) checkpoints.push(rest as unknown as StepCheckpoint);
      else if (sk.startsWith('NODE#')) outcomes.push(rest as unknown as NodeOutcome);
      else if (sk.startsWith('HELD#')) held.push(heldNodeOf(item));
    }
    return { checkpoints, outcomes, held };
  }

  /** One node's step checkpoints in a run (one query of that node's items, whatever the size of the run). */
  async nodeCheckpoints(runId: string, nodeId: string): Promise<StepCheckpoint[]> {
    const items = await this.queryAll(`RUN#${runId}`, `NODE#${nodeId}#STEP#`);
    return items.map(({ pk: _pk, sk: _sk, ...rest }) => rest as unknown as StepCheckpoint);
  }

  private async queryAll(pk: string, skPrefix?: string, consistent = false): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: skPrefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :sk)',
          ExpressionAttributeValues: skPrefix === undefined ? { ':pk': pk } : { ':pk': pk, ':sk': skPrefix },
          ExclusiveStartKey: startKey,
          ...(consistent ? { ConsistentRead: true } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }
}

/** An open question that holds the run (`RUN#id` / `HOLD#node`). */
export interface RunHold {
  nodeId: string;
  step: string;
  at: string;
}

/** A node held by open questions (`RUN#id` / `HELD#node`): `taskToken` and `since` while it waits. */
export interface HeldNode {
  nodeId: string;
  taskToken?: string;
  since?: string;
  /** Milliseconds waited in waits that ended. */
  heldMs: number;
  /** The nodes whose questions it waited for. */
  waitedFor: string[];
  releasedAt?: string;
}

function heldNodeOf(item: Record<string, unknown>): HeldNode {
  const waitedFor = item.waitedFor instanceof Set ? [...(item.waitedFor as Set<string>)].sort() : [];
  return {
    nodeId: String(item.nodeId),
    heldMs: Number(item.heldMs ?? 0),
    waitedFor,
    ...(typeof item.taskToken === 'string' ? { taskToken: item.taskToken } : {}),
    ...(typeof item.since === 'string' ? { since: item.since } : {}),
    ...(typeof item.releasedAt === 'string' ? { releasedAt: item.releasedAt } : {}),
  };
}

/** An approval request as stored: the evidence, its state, and (never shown) the task token. */
export interface StoredApproval extends ApprovalRequest {
  taskToken: string;
  state: 'PENDING' | 'DECIDED';
  decision?: ApprovalDecision['decision'];
  decidedBy?: string;
  decidedAt?: string;
  byTimeout?: boolean;
  ttl: number;
}

/** A command waiting for its completion event. */
export interface PendingCommand {
  commandId: string;
  taskToken: string;
  runId: string;
  cluster: string;
  nodeId: string;
  step: StepId;
  targetVersion: string;
  /** A failure of this step becomes a warning (pre-upgrade validation with ignoreInspectFailures). */
  ignoreFailure?: boolean;
  sentAt: string;
  /** The execution timeout SSM was given: past it (plus slack) a command still in progress has lost its node. */
  timeoutSeconds?: number;
  /** Epoch seconds: DynamoDB TTL (attribute `ttl`) removes the token once nobody can use it. */
  ttl: number;
}

/** Sort key of a step checkpoint: node steps under the node, maintenance mode under the cluster. */
export function checkpointKey(nodeId: string, step: StepId): string {
  return CLUSTER_STEPS.includes(step) ? `CLUSTER#STEP#${stepNumber(step)}` : `NODE#${nodeId}#STEP#${stepNumber(step)}`;
}
