import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { FiringAlarm, HealthDecision, HealthState } from '../core/health.js';
import { healthKey } from './keys.js';
import type { Table } from './table.js';

/** The health gate as recorded, with who decided. */
export interface HealthRecord extends HealthState {
  askedAt?: string;
  decidedBy?: string;
  decidedAt?: string;
  byTimeout?: boolean;
}

const strings = (v: unknown): string[] =>
  v instanceof Set ? [...(v as Set<string>)].sort() : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
const alarms = (v: unknown): FiringAlarm[] =>
  Array.isArray(v) ? (v as Record<string, unknown>[]).map((a) => ({ name: String(a.name), reason: String(a.reason ?? '') })) : [];

/**
 * A run's health gate (`RUN#id` / `HEALTH`), one item:
 *
 *   passed (lastPassAt) ──an alarm fires, one node wins claimAsk──► asked (askedBy, alarms; decision removed)
 *   asked ──continue (alarms join acknowledged) | abort, once──► decided ──a new alarm──► asked again
 *        └─ while asked and undecided no other node may ask: one question at a time; after abort never again
 */
export class HealthStore {
  constructor(private readonly table: Table) {}

  /** Strongly consistent: the gate must see a question a moment after it was asked. */
  async get(runId: string): Promise<HealthRecord | null> {
    const out = await this.table.db.send(new GetCommand({ TableName: this.table.name, Key: healthKey(runId), ConsistentRead: true }));
    const item = out.Item;
    if (item === undefined) return null;
    return {
      alarms: alarms(item.alarms),
      changedSince: strings(item.changedSince),
      acknowledged: strings(item.acknowledged),
      ...(typeof item.askedBy === 'string' ? { askedBy: item.askedBy } : {}),
      ...(typeof item.askedAt === 'string' ? { askedAt: item.askedAt } : {}),
      ...(typeof item.decision === 'string' ? { decision: item.decision as HealthDecision } : {}),
      ...(typeof item.decidedBy === 'string' ? { decidedBy: item.decidedBy } : {}),
      ...(typeof item.decidedAt === 'string' ? { decidedAt: item.decidedAt } : {}),
      ...(typeof item.byTimeout === 'boolean' ? { byTimeout: item.byTimeout } : {}),
      ...(typeof item.lastPassAt === 'string' ? { lastPassAt: item.lastPassAt } : {}),
    };
  }

  /** The gate passed (no alarm stops it): the start of "nodes changed since" for the next question. */
  async passed(runId: string, at: string): Promise<void> {
    await this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: healthKey(runId),
        UpdateExpression: 'SET lastPassAt = :at',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  }

  /**
   * Opens the question with the node as its asker, unless another question is open (its own retry wins again)
   * or an abort was decided: true when this node asks.
   */
  async claimAsk(runId: string, nodeId: string, firing: readonly FiringAlarm[], changedSince: readonly string[], at: string): Promise<boolean> {
    const noQuestion = 'attribute_not_exists(askedBy)';
    const mine = '(askedBy = :id AND attribute_not_exists(decision))';
    const continuedPast = 'decision = :continue';
    return this.conditional(
      new UpdateCommand({
        TableName: this.table.name,
        Key: healthKey(runId),
        UpdateExpression: 'SET askedBy = :id, askedAt = :at, alarms = :alarms, changedSince = :changed REMOVE decision, decidedBy, decidedAt, byTimeout',
        ConditionExpression: `${noQuestion} OR ${mine} OR ${continuedPast}`,
        ExpressionAttributeValues: {
          ':id': nodeId,
          ':at': at,
          ':alarms': firing.map((a) => ({ name: a.name, reason: a.reason.slice(0, 1000) })),
          ':changed': [...changedSince],
          ':continue': 'continue',
        },
      }),
    );
  }

  /** Records the decision on the open question, once; `continue` acknowledges its alarms for the rest of the run. */
  async decide(runId: string, decision: HealthDecision, by: string, at: string, byTimeout: boolean): Promise<boolean> {
    const open = await this.get(runId);
    const names = open?.alarms.map((a) => a.name) ?? [];
    return this.conditional(
      new UpdateCommand({
        TableName: this.table.name,
        Key: healthKey(runId),
        UpdateExpression: `SET decision = :d, decidedBy = :by, decidedAt = :at, byTimeout = :t${decision === 'continue' && names.length > 0 ? ' ADD acknowledged :names' : ''}`,
        ConditionExpression: 'attribute_exists(askedBy) AND attribute_not_exists(decision)',
        ExpressionAttributeValues: {
          ':d': decision,
          ':by': by,
          ':at': at,
          ':t': byTimeout,
          ...(decision === 'continue' && names.length > 0 ? { ':names': new Set(names) } : {}),
        },
      }),
    );
  }

  /** The run ended with the question open: it is closed as abort (nobody can answer it any more); false when none was open. */
  async close(runId: string, by: string, at: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table.name,
        Key: healthKey(runId),
        UpdateExpression: 'SET decision = :d, decidedBy = :by, decidedAt = :at, byTimeout = :t',
        ConditionExpression: 'attribute_exists(askedBy) AND attribute_not_exists(decision)',
        ExpressionAttributeValues: { ':d': 'abort', ':by': by, ':at': at, ':t': false },
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
