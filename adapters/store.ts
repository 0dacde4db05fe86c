import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ClusterLockedError } from '../core/errors.js';
import type { StepId } from '../core/steps.js';
import type { NodeOutcome, RunInfo, StepCheckpoint, Summary } from '../core/summary.js';
import { ApprovalStore } from './approval-store.js';
import { CommandStore, type PendingCommand } from './command-store.js';
import { HoldStore, heldNodeOf, type HeldNode } from './hold-store.js';
import { SK_PREFIX, checkpointKey, clusterPk, lockKey, nodeCheckpointsPrefix, nodeRecordKey, outcomeKey, planKey, runKey, runPk } from './keys.js';
import { Table, withoutKey } from './table.js';
import { planFromItems, planItems, type PlannedNode } from './plan-items.js';

export type { ReminderRecord, StoredApproval } from './approval-store.js';
export type { PendingCommand } from './command-store.js';
export type { HeldNode, RunHold } from './hold-store.js';

export type { PlannedNode } from './plan-items.js';

/**
 * The fleet's records in the single table (its layout: keys.ts). Approvals, commands and what holds a run
 * have stores of their own; their methods pass through here, so one object serves every handler.
 */
export class FleetStore {
  private readonly records: Table;
  private readonly approvals: ApprovalStore;
  private readonly commands: CommandStore;
  private readonly holds: HoldStore;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {
    this.records = new Table(db, table);
    this.approvals = new ApprovalStore(this.records);
    this.commands = new CommandStore(this.records);
    this.holds = new HoldStore(this.records);
  }

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
          Item: { ...lockKey(cluster), runId, acquiredAt: now.toISOString(), expiresAt },
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
          Key: lockKey(cluster),
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
          Key: lockKey(cluster),
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
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: lockKey(cluster) }));
    return out.Item === undefined ? null : { runId: String(out.Item.runId), expiresAt: String(out.Item.expiresAt) };
  }

  /** Versions recorded for the cluster's nodes (used by the plan; the node's own check stays the authority). */
  async knownVersions(cluster: string): Promise<Map<string, string>> {
    const items = await this.records.query(clusterPk(cluster), SK_PREFIX.nodeRecord);
    const known = new Map<string, string>();
    for (const item of items) if (typeof item.version === 'string') known.set(String(item.nodeId), item.version);
    return known;
  }

  async getNodeRecord(cluster: string, nodeId: string): Promise<Record<string, unknown> | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: nodeRecordKey(cluster, nodeId) }));
    return out.Item ?? null;
  }

  /** Every node record of a cluster (`CLUSTER#c` / `NODE#id`): roles, version, previousVersion, status, lastRun. */
  async nodeRecords(cluster: string): Promise<Record<string, unknown>[]> {
    return (await this.records.query(clusterPk(cluster), SK_PREFIX.nodeRecord)).map(withoutKey);
  }

  /** Every run of a cluster (`CLUSTER#c` / `RUN#id`), oldest first by start time. */
  async listRuns(
    cluster: string,
  ): Promise<{ runId: string; cluster: string; targetVersion: string; startedAt: string; status: string; finishedAt?: string }[]> {
    const items = await this.records.query(clusterPk(cluster), SK_PREFIX.run);
    return (
      items.map(withoutKey) as unknown as { runId: string; cluster: string; targetVersion: string; startedAt: string; status: string; finishedAt?: string }[]
    ).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  /**
   * Records a planned run. The per-node facts (order, roles, version known at planning) go in one item per
   * node (`RUN#id` / `PLAN#<node>`), so a run of thousands of nodes stays far below the 400 KB item limit.
   */
  async putRun(run: RunInfo): Promise<void> {
    const { order, roles: _roles, plannedFrom: _from, notInRun: _left, ...facts } = run;
    await this.records.batchPut(planItems(run).map((item) => ({ ...planKey(run.runId, item.nodeId), ...item })));
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...runKey(run.cluster, run.runId), ...facts, nodeCount: order.length, status: 'RUNNING' },
      }),
    );
  }

  async getRun(cluster: string, runId: string): Promise<(RunInfo & { status: string; summary?: Summary }) | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: runKey(cluster, runId) }));
    if (out.Item === undefined) return null;
    const planned = (await this.records.query(runPk(runId), SK_PREFIX.plan)).map((item) => withoutKey(item) as unknown as PlannedNode);
    const { pk: _pk, sk: _sk, nodeCount: _count, ...facts } = out.Item;
    return { ...(facts as Omit<RunInfo, 'order' | 'roles' | 'plannedFrom'> & { status: string; summary?: Summary }), ...planFromItems(planned) };
  }

  /** The run's own item only (not its plan): whether it is recorded, and summarized. */
  async runFacts(cluster: string, runId: string): Promise<{ status: string; summarized: boolean } | null> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: runKey(cluster, runId),
        ProjectionExpression: '#s, finishedAt',
        ExpressionAttributeNames: { '#s': 'status' },
      }),
    );
    if (out.Item === undefined) return null;
    // completeRun writes finishedAt with the summary (projected instead of the summary, which may be large).
    return { status: String(out.Item.status), summarized: out.Item.finishedAt !== undefined };
  }

  /** The run's own record: its facts, status and (once written) summary; one read, without the plan. */
  async getRunRecord(cluster: string, runId: string): Promise<{ status: string; summary?: Summary } | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: runKey(cluster, runId) }));
    return out.Item === undefined ? null : (withoutKey(out.Item) as { status: string; summary?: Summary });
  }

  /** The run's nodes in their planned order (`PLAN#` items only: a few small attributes per node); not the ones `only` left out. */
  async plannedNodes(runId: string): Promise<PlannedNode[]> {
    const planned = (await this.records.query(runPk(runId), SK_PREFIX.plan)).map((item) => withoutKey(item) as unknown as PlannedNode);
    return planned.filter((p) => p.notInRun !== true).sort((a, b) => a.seq - b.seq);
  }

  /**
   * Notes on the node's plan item that the gate let it start, so "who waits" tells nodes in flight from nodes
   * held by reading the plan. False when the run has no plan for the node (nothing is written then).
   */
  async markStarted(runId: string, nodeId: string, at: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: planKey(runId, nodeId),
          UpdateExpression: 'SET startedAt = if_not_exists(startedAt, :at)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': at },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** A node's roles as the run planned them (one read, whatever the size of the run). */
  async plannedRoles(runId: string, nodeId: string): Promise<string[] | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: planKey(runId, nodeId) }));
    return (out.Item?.roles as string[] | undefined) ?? null;
  }

  async completeRun(summary: Summary): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: runKey(summary.cluster, summary.runId),
        UpdateExpression: 'SET #status = :status, finishedAt = :at, summary = :summary',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': summary.status, ':at': summary.finishedAt, ':summary': summary },
      }),
    );
  }

  /**
   * Registers a step's command, then points its RUNNING checkpoint at it. In this order: a retry that finds
   * the checkpoint pointing at a command must find the command too (else it would send the step again).
   * Not one transaction: the status event's claim may write the command item at the same moment, and a
   * transaction would make that a TransactionConflict for one of them; both writes are done before a
   * script of any length ends, so they cost the step no time.
   */
  async recordCommand(command: PendingCommand): Promise<void> {
    await this.commands.putCommand(command);
    await this.setCheckpointCommand(command.runId, command.nodeId, command.step, command.commandId, command.timeoutSeconds);
  }

  /**
   * Writes a step's first RUNNING checkpoint, in one request when the step has none (its first attempt).
   * Returns null when written; otherwise the checkpoint an earlier attempt left, untouched, for the caller
   * to decide (take over its command, or run the step again).
   */
  async startCheckpoint(runId: string, checkpoint: StepCheckpoint): Promise<StepCheckpoint | null> {
    const Key = checkpointKey(runId, checkpoint.nodeId, checkpoint.step);
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
        Key: checkpointKey(runId, checkpoint.nodeId, checkpoint.step),
        UpdateExpression: `SET ${entries.map(([,], i) => `#f${i} = :f${i}`).join(', ')}, startedAt = if_not_exists(startedAt, :startedAt)`,
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
        Key: checkpointKey(runId, nodeId, step),
        UpdateExpression: timeoutSeconds === undefined ? 'SET commandId = :id' : 'SET commandId = :id, timeoutSeconds = :timeout',
        ExpressionAttributeValues: { ':id': commandId, ...(timeoutSeconds === undefined ? {} : { ':timeout': timeoutSeconds }) },
      }),
    );
  }

  async putCheckpoint(runId: string, checkpoint: StepCheckpoint): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...checkpointKey(runId, checkpoint.nodeId, checkpoint.step), ...checkpoint } }));
  }

  async getCheckpoint(runId: string, nodeId: string, step: StepId): Promise<StepCheckpoint | null> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: checkpointKey(runId, nodeId, step) }));
    return (out.Item as StepCheckpoint | undefined) ?? null;
  }

  /** Records how a node's part of the run ended, and the node's own record when its version changed or was learned. */
  async recordOutcome(cluster: string, runId: string, roles: string[], outcome: NodeOutcome): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...outcomeKey(runId, outcome.nodeId), ...outcome } }));
    // Only a known version is recorded: a node that failed after it changed waits for rollback to say where it is.
    const version = outcome.to;
    // The last decision about this node (who, signed in how), until an outcome without one replaces it.
    const decision =
      outcome.decision === undefined
        ? undefined
        : {
            decision: outcome.decision,
            by: outcome.decidedBy ?? 'unknown',
            byTimeout: outcome.byTimeout === true,
            runId,
            at: outcome.at,
            ...(outcome.decidedIdentity ? { identity: outcome.decidedIdentity } : {}),
          };
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: nodeRecordKey(cluster, outcome.nodeId),
        UpdateExpression:
          'SET nodeId = :id, #roles = :roles, #status = :status, lastRun = :run, updatedAt = :at' +
          (version === null ? '' : ', version = :version') +
          (outcome.status === 'UPGRADED' && outcome.from !== null ? ', previousVersion = :from' : '') +
          (decision === undefined ? ' REMOVE lastDecision' : ', lastDecision = :decision'),
        ExpressionAttributeNames: { '#roles': 'roles', '#status': 'status' },
        ExpressionAttributeValues: {
          ':id': outcome.nodeId,
          ':roles': roles,
          ':status': outcome.status,
          ':run': runId,
          ':at': outcome.at,
          ...(version === null ? {} : { ':version': version }),
          ...(outcome.status === 'UPGRADED' && outcome.from !== null ? { ':from': outcome.from } : {}),
          ...(decision === undefined ? {} : { ':decision': decision }),
        },
      }),
    );
  }

  /**
   * What a run recorded, for the summary at its end (which needs every node): its step checkpoints (node and
   * cluster steps), node outcomes and held nodes, each kind read by its own prefix (not the plan, holds or stop mark).
   * Strongly consistent, as are the per-kind reads below: the summary and a stopped run's cleanup judge what a
   * step wrote just before.
   */
  async runRecords(runId: string): Promise<{ checkpoints: StepCheckpoint[]; outcomes: NodeOutcome[]; held: HeldNode[] }> {
    const [checkpoints, outcomes, held] = await Promise.all([
      this.runCheckpoints(runId),
      this.runOutcomes(runId),
      this.records.query(runPk(runId), SK_PREFIX.held, true),
    ]);
    return { checkpoints, outcomes, held: held.map(heldNodeOf) };
  }

  /** Every step checkpoint of a run: maintenance mode's first, then each node's in node and step order. */
  async runCheckpoints(runId: string): Promise<StepCheckpoint[]> {
    return (await this.records.query(runPk(runId), SK_PREFIX.checkpoint, true)).map((item) => withoutKey(item) as unknown as StepCheckpoint);
  }

  /** How each node's part of the run ended, for the nodes whose part ended. */
  async runOutcomes(runId: string): Promise<NodeOutcome[]> {
    return (await this.records.query(runPk(runId), SK_PREFIX.outcome, true)).map((item) => withoutKey(item) as unknown as NodeOutcome);
  }

  /** The outcomes of the given nodes whose part of the run ended, read by key (nothing of any other node). */
  async nodeOutcomes(runId: string, nodeIds: readonly string[]): Promise<NodeOutcome[]> {
    return (await this.records.batchGet(nodeIds.map((id) => outcomeKey(runId, id)))).map((item) => withoutKey(item) as unknown as NodeOutcome);
  }

  /** One node's step checkpoints in a run (one query of that node's items, whatever the size of the run). */
  async nodeCheckpoints(runId: string, nodeId: string): Promise<StepCheckpoint[]> {
    return (await this.records.query(runPk(runId), nodeCheckpointsPrefix(nodeId), true)).map((item) => withoutKey(item) as unknown as StepCheckpoint);
  }

  putApproval(...a: Parameters<ApprovalStore['putApproval']>): ReturnType<ApprovalStore['putApproval']> {
    return this.approvals.putApproval(...a);
  }
  getApproval(...a: Parameters<ApprovalStore['getApproval']>): ReturnType<ApprovalStore['getApproval']> {
    return this.approvals.getApproval(...a);
  }
  claimApproval(...a: Parameters<ApprovalStore['claimApproval']>): ReturnType<ApprovalStore['claimApproval']> {
    return this.approvals.claimApproval(...a);
  }
  unclaimApproval(...a: Parameters<ApprovalStore['unclaimApproval']>): ReturnType<ApprovalStore['unclaimApproval']> {
    return this.approvals.unclaimApproval(...a);
  }
  recordLateAttempt(...a: Parameters<ApprovalStore['recordLateAttempt']>): ReturnType<ApprovalStore['recordLateAttempt']> {
    return this.approvals.recordLateAttempt(...a);
  }
  pendingApprovals(): ReturnType<ApprovalStore['pendingApprovals']> {
    return this.approvals.pendingApprovals();
  }
  recordReminder(...a: Parameters<ApprovalStore['recordReminder']>): ReturnType<ApprovalStore['recordReminder']> {
    return this.approvals.recordReminder(...a);
  }

  getCommand(...a: Parameters<CommandStore['getCommand']>): ReturnType<CommandStore['getCommand']> {
    return this.commands.getCommand(...a);
  }
  claimCommand(...a: Parameters<CommandStore['claimCommand']>): ReturnType<CommandStore['claimCommand']> {
    return this.commands.claimCommand(...a);
  }
  tryClaimCommand(...a: Parameters<CommandStore['tryClaimCommand']>): ReturnType<CommandStore['tryClaimCommand']> {
    return this.commands.tryClaimCommand(...a);
  }
  settleCommand(...a: Parameters<CommandStore['settleCommand']>): ReturnType<CommandStore['settleCommand']> {
    return this.commands.settleCommand(...a);
  }
  repointCommand(...a: Parameters<CommandStore['repointCommand']>): ReturnType<CommandStore['repointCommand']> {
    return this.commands.repointCommand(...a);
  }

  markRunStopping(...a: Parameters<HoldStore['markRunStopping']>): ReturnType<HoldStore['markRunStopping']> {
    return this.holds.markRunStopping(...a);
  }
  runStopping(...a: Parameters<HoldStore['runStopping']>): ReturnType<HoldStore['runStopping']> {
    return this.holds.runStopping(...a);
  }
  openHold(...a: Parameters<HoldStore['openHold']>): ReturnType<HoldStore['openHold']> {
    return this.holds.openHold(...a);
  }
  closeHold(...a: Parameters<HoldStore['closeHold']>): ReturnType<HoldStore['closeHold']> {
    return this.holds.closeHold(...a);
  }
  openHolds(...a: Parameters<HoldStore['openHolds']>): ReturnType<HoldStore['openHolds']> {
    return this.holds.openHolds(...a);
  }
  holdNode(...a: Parameters<HoldStore['holdNode']>): ReturnType<HoldStore['holdNode']> {
    return this.holds.holdNode(...a);
  }
  heldNodes(...a: Parameters<HoldStore['heldNodes']>): ReturnType<HoldStore['heldNodes']> {
    return this.holds.heldNodes(...a);
  }
  releaseHeldNode(...a: Parameters<HoldStore['releaseHeldNode']>): ReturnType<HoldStore['releaseHeldNode']> {
    return this.holds.releaseHeldNode(...a);
  }
}
