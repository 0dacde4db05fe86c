import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
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
    try {
      const out = await this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: budgetKey(runId),
          UpdateExpression: 'SET failedNodes = list_append(if_not_exists(failedNodes, :none), :node)',
          ConditionExpression: notListedYet,
          ExpressionAttributeValues: { ':none': [], ':node': [nodeId], ':id': nodeId },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return (out.Attributes?.failedNodes as string[] | undefined)?.length ?? 1;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Listed by an earlier attempt of the same decision: the place it got then (the list only grows).
    const failed = await this.failedNodes(runId);
    return failed.indexOf(nodeId) + 1;
  }

  /** The failed nodes counted so far, in order (strongly consistent). */
  async failedNodes(runId: string): Promise<string[]> {
    const out = await this.table.db.send(new GetCommand({ TableName: this.table.name, Key: budgetKey(runId), ConsistentRead: true }));
    return (out.Item?.failedNodes as string[] | undefined) ?? [];
  }
}
