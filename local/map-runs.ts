/**
 * Map Runs as Step Functions reports them. "When you run a Map state in Distributed mode, Step Functions creates a
 * Map Run resource" (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-examine-map-run.html): an Inline
 * Map has none. Shapes: API_DescribeMapRun, API_MapRunListItem, API_MapRunItemCounts, API_MapRunExecutionCounts in
 * https://docs.aws.amazon.com/step-functions/latest/apireference/.
 */
import { atPath } from './asl-states.js';

export type MapRunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

/** What a Map Run counts of a child execution. */
export interface MapRunChild {
  status: MapRunStatus;
}

/** A Map state's settings as its Map Run reports them, read off the state and its input. */
export interface MapRunSettings {
  maxConcurrency: number;
  toleratedFailurePercentage: number;
  toleratedFailureCount: number;
  /** How many items the Map iterates over. */
  items: number;
}

/** The execution whose Map state starts a Map Run (a parent, or a child of an enclosing Distributed Map), and its state machine. */
export interface MapRunOwner {
  executionArn: string;
  /** `<machine>/<label>` for a child. */
  stateMachineArn: string;
}

/** How an execution's history starts and ends the Map Runs of its Distributed Maps. */
export interface MapRunHooks {
  /** Answers the new run's ARN. */
  started(mapState: string, input: unknown, at: number): string;
  ended(mapState: string, status: Exclude<MapRunStatus, 'RUNNING'>, at: number): void;
}

/** A Map state's settings for its Map Run: each number given directly or by its `…Path` variant, else 0 (the ASL default). */
export function mapRunSettings(state: object | undefined, input: unknown, items: number): MapRunSettings {
  const fields = (state ?? {}) as Record<string, unknown>;
  const setting = (field: string): number => {
    const direct = fields[field];
    if (typeof direct === 'number') return direct;
    const path = fields[`${field}Path`];
    const value = typeof path === 'string' ? Number(atPath(input, path)) : 0;
    return Number.isFinite(value) ? value : 0;
  };
  return {
    maxConcurrency: setting('MaxConcurrency'),
    toleratedFailurePercentage: setting('ToleratedFailurePercentage'),
    toleratedFailureCount: setting('ToleratedFailureCount'),
    items,
  };
}

/** One Map Run: the child executions one entry of a Distributed Map state started. */
export class MapRun<C extends MapRunChild = MapRunChild> {
  status: MapRunStatus = 'RUNNING';
  stopDate: number | undefined;
  /** The child executions by item key (node id for node Maps, iteration index otherwise). */
  readonly children = new Map<string, C>();

  constructor(
    readonly arn: string,
    readonly owner: MapRunOwner,
    readonly startDate: number,
    readonly settings: MapRunSettings,
  ) {}

  /** The Map state ended (or its execution did): a run ends once. */
  end(status: Exclude<MapRunStatus, 'RUNNING'>, at: number): void {
    if (this.status !== 'RUNNING') return;
    this.status = status;
    this.stopDate = at;
  }

  /** ListMapRuns' item (timestamps in epoch seconds, as the JSON protocol carries them). */
  listItem(): Record<string, unknown> {
    return {
      executionArn: this.owner.executionArn,
      mapRunArn: this.arn,
      stateMachineArn: this.owner.stateMachineArn,
      startDate: this.startDate / 1000,
      ...(this.stopDate !== undefined ? { stopDate: this.stopDate / 1000 } : {}),
    };
  }

  /** DescribeMapRun's answer. The Maps here write no results (no ResultWriter) and have never been redriven. */
  describe(): Record<string, unknown> {
    const count = (status: MapRunChild['status']) => [...this.children.values()].filter((c) => c.status === status).length;
    // One child execution per item (no ItemBatcher): items and executions count alike.
    const counts = {
      pending: Math.max(this.settings.items - this.children.size, 0),
      running: count('RUNNING'),
      succeeded: count('SUCCEEDED'),
      failed: count('FAILED'),
      timedOut: 0,
      aborted: count('ABORTED'),
      total: Math.max(this.settings.items, this.children.size),
      resultsWritten: 0,
      failuresNotRedrivable: 0,
      pendingRedrive: 0,
    };
    return {
      mapRunArn: this.arn,
      executionArn: this.owner.executionArn,
      status: this.status,
      startDate: this.startDate / 1000,
      ...(this.stopDate !== undefined ? { stopDate: this.stopDate / 1000 } : {}),
      maxConcurrency: this.settings.maxConcurrency,
      toleratedFailurePercentage: this.settings.toleratedFailurePercentage,
      toleratedFailureCount: this.settings.toleratedFailureCount,
      itemCounts: counts,
      executionCounts: { ...counts },
      redriveCount: 0,
    };
  }
}
