import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ifConditionFails } from './if-condition-fails.js';
import { budgetKey } from './keys.js';
import type { Table } from './table.js';

/**
 * The run's failed nodes under onFailure rollback-and-continue (`RUN#id` / `BUDGET`): one list, appended to
 * atomically, so each failed node gets its own place however many fail at once, and the budget is exact.
 *
 *   dea-2 fails ──append──► [dea-2]          place 1: within a budget of 1, rolled back
 *   dea-5 fails ──append──► [dea-2, dea-5]   place 2: the budget is spent, the run stops
 *   dea-5's Lambda retried ──(already listed)──► place 2 again, counted once
 */
export class BudgetStore {
  constructor(private readonly table: Table) {}

  /** Counts `nodeId` as failed (once, however often asked) and returns its place among the run's failed nodes, from 1. */
  async countFailure(runId: string, nodeId: string): Promise<number> {
    const notListedYet = 'attribute_not_exists(failedNodes) OR NOT contains(failedNodes, :id)';
    const append = this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: budgetKey(runId),
        UpdateExpression: 'SET failedNodes = list_append(if_not_exists(failedNodes, :none), :node)',
        ConditionExpression: notListedYet,
        ExpressionAttributeValues: { ':none': [], ':node': [nodeId], ':id': nodeId },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return ifConditionFails(
      append.then((out) => (out.Attributes?.failedNodes as string[] | undefined)?.length ?? 1),
      // Listed by an earlier attempt of the same decision: the place it got then (the list only grows).
      async () => (await this.failedNodes(runId)).indexOf(nodeId) + 1,
    );
  }

  /** The failed nodes counted so far, in order (strongly consistent). */
  async failedNodes(runId: string): Promise<string[]> {
    return ((await this.table.get(budgetKey(runId), true))?.failedNodes as string[] | undefined) ?? [];
  }
}
