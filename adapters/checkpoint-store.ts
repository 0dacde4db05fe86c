import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { StepId } from '../core/steps.js';
import type { StepCheckpoint } from '../core/summary.js';
import { written } from './if-condition-fails.js';
import { SK_PREFIX, checkpointKey, nodeCheckpointsPrefix, runPk } from './keys.js';
import { withoutKey, type Table } from './table.js';

/**
 * Step checkpoints (`RUN#id` / `STEP#NODE#node#nn`, maintenance mode's `STEP#CLUSTER#nn`): what each step did on
 * each node, so a retried task or a resumed run knows what already ran.
 *
 *   (none) ──startCheckpoint──► RUNNING ──setCheckpointCommand──► RUNNING (commandId) ──finishCheckpoint──► SUCCEEDED | FAILED | …
 *                                  └─ a retry's startCheckpoint finds it and is handed it, untouched, to decide on
 */
export interface CheckpointStore {
  /** Writes a step's first RUNNING checkpoint: null when written, else the checkpoint an earlier attempt left, untouched. */
  startCheckpoint(runId: string, checkpoint: StepCheckpoint): Promise<StepCheckpoint | null>;
  /** Writes a step's final checkpoint: every field given, startedAt only if the step has none, earlierAttempts kept. */
  finishCheckpoint(runId: string, checkpoint: Omit<StepCheckpoint, 'earlierAttempts'>): Promise<void>;
  /** Notes on a RUNNING checkpoint which command runs the step, so a retry or reconcile can find it. */
  setCheckpointCommand(runId: string, nodeId: string, step: StepId, commandId: string, timeoutSeconds: number | undefined): Promise<void>;
  /** Writes a checkpoint whole, whatever was there. */
  putCheckpoint(runId: string, checkpoint: StepCheckpoint): Promise<void>;
  getCheckpoint(runId: string, nodeId: string, step: StepId): Promise<StepCheckpoint | null>;
  /** Every checkpoint of a run: maintenance mode's first, then each node's in node and step order (strongly consistent). */
  runCheckpoints(runId: string): Promise<StepCheckpoint[]>;
  /** One node's checkpoints in a run, in step order (one query of that node's items, whatever the size of the run). */
  nodeCheckpoints(runId: string, nodeId: string): Promise<StepCheckpoint[]>;
}

const checkpointOf = (item: Record<string, unknown>): StepCheckpoint => withoutKey(item) as unknown as StepCheckpoint;

/** Step checkpoints in the single table, under their run. */
export class DynamoDBCheckpointStore implements CheckpointStore {
  constructor(private readonly table: Table) {}

  async startCheckpoint(runId: string, checkpoint: StepCheckpoint): Promise<StepCheckpoint | null> {
    const key = checkpointKey(runId, checkpoint.nodeId, checkpoint.step);
    const firstAttempt = 'attribute_not_exists(pk)';
    const put = new PutCommand({ TableName: this.table.name, Item: { ...key, ...checkpoint }, ConditionExpression: firstAttempt });
    if (await written(this.table.db.send(put))) return null;
    const previous = await this.table.get(key, true);
    if (previous === undefined) throw new Error(`checkpoint ${key.sk} of run ${runId} vanished while the step started`);
    return checkpointOf(previous);
  }

  async finishCheckpoint(runId: string, checkpoint: Omit<StepCheckpoint, 'earlierAttempts'>): Promise<void> {
    const { startedAt, ...fields } = checkpoint;
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    await this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: checkpointKey(runId, checkpoint.nodeId, checkpoint.step),
        UpdateExpression: `SET ${entries.map(([,], i) => `#f${i} = :f${i}`).join(', ')}, startedAt = if_not_exists(startedAt, :startedAt)`,
        ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k])),
        ExpressionAttributeValues: { ...Object.fromEntries(entries.map(([, v], i) => [`:f${i}`, v])), ':startedAt': startedAt },
      }),
    );
  }

  async setCheckpointCommand(runId: string, nodeId: string, step: StepId, commandId: string, timeoutSeconds: number | undefined): Promise<void> {
    await this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: checkpointKey(runId, nodeId, step),
        UpdateExpression: timeoutSeconds === undefined ? 'SET commandId = :id' : 'SET commandId = :id, timeoutSeconds = :timeout',
        ExpressionAttributeValues: { ':id': commandId, ...(timeoutSeconds === undefined ? {} : { ':timeout': timeoutSeconds }) },
      }),
    );
  }

  async putCheckpoint(runId: string, checkpoint: StepCheckpoint): Promise<void> {
    await this.table.db.send(
      new PutCommand({ TableName: this.table.name, Item: { ...checkpointKey(runId, checkpoint.nodeId, checkpoint.step), ...checkpoint } }),
    );
  }

  async getCheckpoint(runId: string, nodeId: string, step: StepId): Promise<StepCheckpoint | null> {
    return ((await this.table.get(checkpointKey(runId, nodeId, step))) as StepCheckpoint | undefined) ?? null;
  }

  async runCheckpoints(runId: string): Promise<StepCheckpoint[]> {
    return (await this.table.query(runPk(runId), SK_PREFIX.checkpoint, true)).map(checkpointOf);
  }

  async nodeCheckpoints(runId: string, nodeId: string): Promise<StepCheckpoint[]> {
    return (await this.table.query(runPk(runId), nodeCheckpointsPrefix(nodeId), true)).map(checkpointOf);
  }
}
