import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RunInfo, Summary } from '../core/summary.js';
import { written } from './if-condition-fails.js';
import { SK_PREFIX, clusterPk, planKey, runKey, runPk } from './keys.js';
import { planFromItems, planItems, type PlannedNode } from './plan-items.js';
import { withoutKey, type Table } from './table.js';

/** A run as recorded: what the plan recorded, its status, and its summary once it ended. */
export type StoredRun = RunInfo & { status: string; summary?: Summary };

/** A run in the cluster's list of runs. */
export interface RunListing {
  runId: string;
  cluster: string;
  targetVersion: string;
  startedAt: string;
  status: string;
  finishedAt?: string;
}

/**
 * Runs (`CLUSTER#c` / `RUN#id`: facts, status, summary) and their plans (`RUN#id` / `PLAN#node`: one small item
 * per node, so a run of thousands of nodes stays far below the 400 KB item limit).
 */
export interface RunStore {
  /** Records a planned run, RUNNING: its plan items first, then the run's own item. */
  putRun(run: RunInfo): Promise<void>;
  /** The run with its whole plan. */
  getRun(cluster: string, runId: string): Promise<StoredRun | null>;
  /** The run's own record: its facts, status and (once written) summary; one read, without the plan. */
  getRunRecord(cluster: string, runId: string): Promise<{ status: string; summary?: Summary } | null>;
  /** Whether the run is recorded, its status, and whether its summary is written (without reading the summary). */
  runFacts(cluster: string, runId: string): Promise<{ status: string; summarized: boolean } | null>;
  /** Every run of a cluster, oldest first by start time. */
  listRuns(cluster: string): Promise<RunListing[]>;
  /** The run's nodes in their planned order; not the ones `only` left out. */
  plannedNodes(runId: string): Promise<PlannedNode[]>;
  /** A node's roles as the run planned them (one read, whatever the size of the run). */
  plannedRoles(runId: string, nodeId: string): Promise<string[] | null>;
  /** Notes on the node's plan item that the gate let it start (the first time only); false when the run has no plan for it. */
  markStarted(runId: string, nodeId: string, at: string): Promise<boolean>;
  /** Records the run's end: its status, when, and its summary. */
  completeRun(summary: Summary): Promise<void>;
}

/** Runs and their plans in the single table. */
export class DynamoDBRunStore implements RunStore {
  constructor(private readonly table: Table) {}

  async putRun(run: RunInfo): Promise<void> {
    const { order, roles: _roles, plannedFrom: _from, notInRun: _left, ...facts } = run;
    await this.table.batchPut(planItems(run).map((item) => ({ ...planKey(run.runId, item.nodeId), ...item })));
    await this.table.db.send(
      new PutCommand({ TableName: this.table.name, Item: { ...runKey(run.cluster, run.runId), ...facts, nodeCount: order.length, status: 'RUNNING' } }),
    );
  }

  async getRun(cluster: string, runId: string): Promise<StoredRun | null> {
    const item = await this.table.get(runKey(cluster, runId));
    if (item === undefined) return null;
    const { nodeCount: _count, ...facts } = withoutKey(item);
    return { ...(facts as Omit<StoredRun, 'order' | 'roles' | 'plannedFrom'>), ...planFromItems(await this.plan(runId)) };
  }

  async getRunRecord(cluster: string, runId: string): Promise<{ status: string; summary?: Summary } | null> {
    const item = await this.table.get(runKey(cluster, runId));
    return item === undefined ? null : (withoutKey(item) as { status: string; summary?: Summary });
  }

  async runFacts(cluster: string, runId: string): Promise<{ status: string; summarized: boolean } | null> {
    const out = await this.table.db.send(
      new GetCommand({
        TableName: this.table.name,
        Key: runKey(cluster, runId),
        ProjectionExpression: '#s, finishedAt',
        ExpressionAttributeNames: { '#s': 'status' },
      }),
    );
    if (out.Item === undefined) return null;
    // completeRun writes finishedAt with the summary (projected instead of the summary, which may be large).
    return { status: String(out.Item.status), summarized: out.Item.finishedAt !== undefined };
  }

  async listRuns(cluster: string): Promise<RunListing[]> {
    const items = await this.table.query(clusterPk(cluster), SK_PREFIX.run);
    return (items.map(withoutKey) as unknown as RunListing[]).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  async plannedNodes(runId: string): Promise<PlannedNode[]> {
    return (await this.plan(runId)).filter((p) => p.notInRun !== true).sort((a, b) => a.seq - b.seq);
  }

  async plannedRoles(runId: string, nodeId: string): Promise<string[] | null> {
    return ((await this.table.get(planKey(runId, nodeId)))?.roles as string[] | undefined) ?? null;
  }

  markStarted(runId: string, nodeId: string, at: string): Promise<boolean> {
    const planned = 'attribute_exists(pk)';
    return written(
      this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: planKey(runId, nodeId),
          UpdateExpression: 'SET startedAt = if_not_exists(startedAt, :at)',
          ConditionExpression: planned,
          ExpressionAttributeValues: { ':at': at },
        }),
      ),
    );
  }

  async completeRun(summary: Summary): Promise<void> {
    await this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: runKey(summary.cluster, summary.runId),
        UpdateExpression: 'SET #status = :status, finishedAt = :at, summary = :summary',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': summary.status, ':at': summary.finishedAt, ':summary': summary },
      }),
    );
  }

  /** Every plan item of the run (`PLAN#` items only: a few small attributes per node), in no particular order. */
  private async plan(runId: string): Promise<PlannedNode[]> {
    return (await this.table.query(runPk(runId), SK_PREFIX.plan)).map((item) => withoutKey(item) as unknown as PlannedNode);
  }
}
