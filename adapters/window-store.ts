import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { StepCheckpoint } from '../core/summary.js';
import type { WindowCutoff } from '../core/window-outcome.js';
import { RECENT_RUNS, nodeDurations, type NodeDuration, type WindowEstimates } from '../core/window.js';
import { SK_PREFIX, clusterPk, runPk, windowKey } from './keys.js';
import { withoutKey, type Table } from './table.js';

/** The node the cutoff refused first: why the run ends INCOMPLETE. */
export type CutoffRecord = WindowCutoff;

/** A run's window cutoff (`RUN#id` / `WINDOW`): what the plan estimated and, once it happened, the refusal. */
export interface RunWindow {
  notAfter: string;
  estimates: WindowEstimates;
  cutoff?: CutoffRecord;
}

/** Window estimates from earlier runs, and the cutoff of a run. */
export class WindowStore {
  constructor(private readonly table: Table) {}

  /**
   * Node window durations the cluster's most recent runs recorded (other than `exceptRunId`): their
   * checkpoints and their nodes' roles, a few queries per run.
   */
  async recentDurations(cluster: string, exceptRunId?: string, runs = RECENT_RUNS): Promise<NodeDuration[]> {
    const recorded = (await this.table.query(clusterPk(cluster), SK_PREFIX.run))
      .map((item) => ({ runId: String(item.runId), startedAt: String(item.startedAt ?? '') }))
      .filter((r) => r.runId !== exceptRunId)
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
      .slice(0, runs);
    const perRun = await Promise.all(recorded.map(async ({ runId }) => {
      const [checkpoints, planned] = await Promise.all([
        this.table.query(runPk(runId), SK_PREFIX.checkpoint),
        this.table.query(runPk(runId), SK_PREFIX.plan),
      ]);
      const roles = Object.fromEntries(planned.map((p) => [String(p.nodeId), Array.isArray(p.roles) ? (p.roles as string[]) : []]));
      return nodeDurations(checkpoints.map((c) => withoutKey(c) as unknown as StepCheckpoint), roles);
    }));
    return perRun.flat();
  }

  /** Records the run's cutoff and estimates (the plan, once; a retry writes the same). */
  async putWindow(runId: string, window: Omit<RunWindow, 'cutoff'>): Promise<void> {
    await this.table.db.send(new PutCommand({ TableName: this.table.name, Item: { ...windowKey(runId), ...window } }));
  }

  async getWindow(runId: string): Promise<RunWindow | null> {
    const out = await this.table.db.send(new GetCommand({ TableName: this.table.name, Key: windowKey(runId), ConsistentRead: true }));
    return out.Item === undefined ? null : (withoutKey(out.Item) as unknown as RunWindow);
  }

  /** Records the first node the cutoff refused (later refusals keep it). */
  async recordCutoff(runId: string, cutoff: CutoffRecord): Promise<void> {
    try {
      await this.table.db.send(new UpdateCommand({
        TableName: this.table.name,
        Key: windowKey(runId),
        UpdateExpression: 'SET cutoff = :cutoff',
        ConditionExpression: 'attribute_not_exists(cutoff)',
        ExpressionAttributeValues: { ':cutoff': cutoff },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
