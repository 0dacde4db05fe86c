import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { NodeOutcome } from '../core/summary.js';
import { SK_PREFIX, outcomeKey, runPk } from './keys.js';
import { withoutKey, type Table } from './table.js';

/** How each node's part of a run ended (`RUN#id` / `OUTCOME#node`): one item per node, the last word kept. */
export interface OutcomeStore {
  putOutcome(runId: string, outcome: NodeOutcome): Promise<void>;
  /** Every outcome of the run, for the nodes whose part ended (strongly consistent: the summary judges what a step just wrote). */
  runOutcomes(runId: string): Promise<NodeOutcome[]>;
  /** The outcomes of the given nodes whose part ended, read by key (nothing of any other node). */
  nodeOutcomes(runId: string, nodeIds: readonly string[]): Promise<NodeOutcome[]>;
}

const outcomeOf = (item: Record<string, unknown>): NodeOutcome => withoutKey(item) as unknown as NodeOutcome;

/** Node outcomes in the single table, under their run. */
export class DynamoDBOutcomeStore implements OutcomeStore {
  constructor(private readonly table: Table) {}

  async putOutcome(runId: string, outcome: NodeOutcome): Promise<void> {
    await this.table.db.send(new PutCommand({ TableName: this.table.name, Item: { ...outcomeKey(runId, outcome.nodeId), ...outcome } }));
  }

  async runOutcomes(runId: string): Promise<NodeOutcome[]> {
    return (await this.table.query(runPk(runId), SK_PREFIX.outcome, true)).map(outcomeOf);
  }

  async nodeOutcomes(runId: string, nodeIds: readonly string[]): Promise<NodeOutcome[]> {
    return (await this.table.batchGet(nodeIds.map((id) => outcomeKey(runId, id)))).map(outcomeOf);
  }
}
