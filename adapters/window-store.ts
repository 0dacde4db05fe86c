import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { WindowCutoff } from '../core/window-outcome.js';
import { RECENT_RUNS, type RecordedDurations, type WindowEstimates } from '../core/window.js';
import { written } from './if-condition-fails.js';
import { SK_PREFIX, clusterPk, durationsKey, windowKey } from './keys.js';
import { withoutKey, type Table } from './table.js';

/** The node the cutoff refused first: why the run ends INCOMPLETE. */
export type CutoffRecord = WindowCutoff;

/** A run's window cutoff (`RUN#id` / `WINDOW`): what the plan estimated and, once it happened, the refusal. */
export interface RunWindow {
  notAfter: string;
  estimates: WindowEstimates;
  cutoff?: CutoffRecord;
}

/** Node durations runs recorded, and the window cutoff of a run. */
export class WindowStore {
  constructor(private readonly table: Table) {}

  /**
   * The node durations the cluster's most recent runs recorded (other than `exceptRunId`): the runs' own items
   * (projected: a run item also holds its summary), then one small item per run.
   */
  async recentDurations(cluster: string, exceptRunId?: string, runs = RECENT_RUNS): Promise<RecordedDurations[]> {
    const recorded: { runId: string; startedAt: string }[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.table.db.send(
        new QueryCommand({
          TableName: this.table.name,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :run)',
          ExpressionAttributeValues: { ':pk': clusterPk(cluster), ':run': SK_PREFIX.run },
          ProjectionExpression: 'runId, startedAt',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) recorded.push({ runId: String(item.runId), startedAt: String(item.startedAt ?? '') });
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    const recent = recorded
      .filter((r) => r.runId !== exceptRunId)
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
      .slice(0, runs);
    const items = await Promise.all(recent.map(({ runId }) => this.table.get(durationsKey(runId))));
    return items
      .filter((i): i is Record<string, unknown> => i !== undefined)
      .map((i) => ({
        byRole: (i.byRole ?? {}) as Record<string, number[]>,
        all: Array.isArray(i.all) ? (i.all as number[]) : [],
      }));
  }

  /** Keeps a run's node durations for later runs' estimates (its summary, once; a retry writes the same). */
  async putDurations(runId: string, durations: RecordedDurations): Promise<void> {
    await this.table.db.send(new PutCommand({ TableName: this.table.name, Item: { ...durationsKey(runId), ...durations } }));
  }

  /** Records the run's cutoff and estimates (the plan, once; a retry writes the same). */
  async putWindow(runId: string, window: Omit<RunWindow, 'cutoff'>): Promise<void> {
    await this.table.db.send(new PutCommand({ TableName: this.table.name, Item: { ...windowKey(runId), ...window } }));
  }

  async getWindow(runId: string): Promise<RunWindow | null> {
    const item = await this.table.get(windowKey(runId), true);
    return item === undefined ? null : (withoutKey(item) as unknown as RunWindow);
  }

  /** Records the first node the cutoff refused (later refusals keep it). */
  async recordCutoff(runId: string, cutoff: CutoffRecord): Promise<void> {
    await written(
      this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: windowKey(runId),
          UpdateExpression: 'SET cutoff = :cutoff',
          ConditionExpression: 'attribute_not_exists(cutoff)',
          ExpressionAttributeValues: { ':cutoff': cutoff },
        }),
      ),
    );
  }
}
