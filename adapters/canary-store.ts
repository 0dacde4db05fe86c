import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CanaryDecision, CanaryState } from '../core/canary.js';
import { canaryKey } from './keys.js';
import type { Table } from './table.js';

/** The canary as recorded, with who decided. */
export interface CanaryRecord extends CanaryState {
  askedBy?: string;
  decidedBy?: string;
  decidedAt?: string;
  byTimeout?: boolean;
}

const strings = (v: unknown): string[] => (v instanceof Set ? [...(v as Set<string>)].sort() : []);

/**
 * A run's canary (`RUN#id` / `CANARY`), one item:
 *
 *   slots taken (nodes) ──each canary node done (done)──► asked (askedBy: the node that completed it)
 *        └─ a node may take a slot only while size(nodes) < N: parallel gates never take more than N
 *   asked ──continue | abort (decision, once)──► decided
 */
export class CanaryStore {
  constructor(private readonly table: Table) {}

  /** Strongly consistent: the gate must see a slot taken, or a decision, a moment after it was written. */
  async get(runId: string): Promise<CanaryRecord | null> {
    const out = await this.table.db.send(new GetCommand({ TableName: this.table.name, Key: canaryKey(runId), ConsistentRead: true }));
    const item = out.Item;
    if (item === undefined) return null;
    return {
      nodes: strings(item.nodes),
      done: strings(item.done),
      ...(typeof item.decision === 'string' ? { decision: item.decision as CanaryDecision } : {}),
      ...(typeof item.askedBy === 'string' ? { askedBy: item.askedBy } : {}),
      ...(typeof item.decidedBy === 'string' ? { decidedBy: item.decidedBy } : {}),
      ...(typeof item.decidedAt === 'string' ? { decidedAt: item.decidedAt } : {}),
      ...(typeof item.byTimeout === 'boolean' ? { byTimeout: item.byTimeout } : {}),
    };
  }

  /** Takes a canary slot for the node, unless all `size` are taken by others; true when the node holds one. */
  async claim(runId: string, nodeId: string, size: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table.name,
        Key: canaryKey(runId),
        UpdateExpression: 'ADD nodes :node',
        ConditionExpression: 'attribute_not_exists(nodes) OR size(nodes) < :size OR contains(nodes, :id)',
        ExpressionAttributeValues: { ':node': new Set([nodeId]), ':size': size, ':id': nodeId },
      }),
    );
  }

  /** A canary node finished its part; the canary as it stands after. */
  async finished(runId: string, nodeId: string): Promise<CanaryRecord> {
    await this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: canaryKey(runId),
        UpdateExpression: 'ADD done :node',
        ConditionExpression: 'contains(nodes, :id)',
        ExpressionAttributeValues: { ':node': new Set([nodeId]), ':id': nodeId },
      }),
    );
    return (await this.get(runId)) ?? { nodes: [], done: [] };
  }

  /** The node that completed the canary asks the question, once (its own retry asks again, no other node). */
  async claimAsk(runId: string, nodeId: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table.name,
        Key: canaryKey(runId),
        UpdateExpression: 'SET askedBy = :id',
        ConditionExpression: 'attribute_not_exists(askedBy) OR askedBy = :id',
        ExpressionAttributeValues: { ':id': nodeId },
      }),
    );
  }

  /** Records the decision, once. */
  async decide(runId: string, decision: CanaryDecision, by: string, at: string, byTimeout: boolean): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table.name,
        Key: canaryKey(runId),
        UpdateExpression: 'SET decision = :d, decidedBy = :by, decidedAt = :at, byTimeout = :t',
        ConditionExpression: 'attribute_not_exists(decision)',
        ExpressionAttributeValues: { ':d': decision, ':by': by, ':at': at, ':t': byTimeout },
      }),
    );
  }

  private async conditional(command: UpdateCommand): Promise<boolean> {
    try {
      await this.table.db.send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
