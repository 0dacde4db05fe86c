import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { written } from './if-condition-fails.js';
import type { Key } from './keys.js';
import type { Table } from './table.js';

/** An operator's answer to a run's continue-or-abort question. */
export type QuestionDecision = 'continue' | 'abort';

/** Who asked the question and who answered it, how. */
export interface QuestionRecord {
  askedBy?: string;
  decision?: QuestionDecision;
  decidedBy?: string;
  decidedAt?: string;
  byTimeout?: boolean;
}

/** An answer as `decide` records it. */
export type Answer = Required<Omit<QuestionRecord, 'askedBy'>>;

/** What an update of the question's item writes, and when it may (`condition` absent: always). */
export interface QuestionUpdate {
  update: string;
  condition?: string;
  values: Record<string, unknown>;
}

/** The decision attributes, removed when a new question is asked. */
export const DECISION_ATTRIBUTES = 'decision, decidedBy, decidedAt, byTimeout';

/**
 * A run's continue-or-abort question, one item per run and kind (the canary: `RUN#id` / `CANARY`; the health
 * gate: `RUN#id` / `HEALTH`): one node asks, and the answer is recorded once, with who gave it and how. The
 * canary's slots and the health gate's alarms are facts of their own on the same item (canary-store.ts,
 * health-store.ts).
 *
 *   (none) ──a node asks (a conditional write: one asker)──► asked ──continue | abort (once)──► decided
 */
export class QuestionStore {
  constructor(
    private readonly table: Table,
    private readonly key: (runId: string) => Key,
  ) {}

  /** Strongly consistent: a gate must see a question, a slot or a decision a moment after it was written. */
  read(runId: string): Promise<Record<string, unknown> | undefined> {
    return this.table.get(this.key(runId), true);
  }

  /** Updates the item; false when its condition was false (nothing is written then). */
  write(runId: string, { update, condition, values }: QuestionUpdate): Promise<boolean> {
    return written(
      this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: this.key(runId),
          UpdateExpression: update,
          ...(condition === undefined ? {} : { ConditionExpression: condition }),
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  /**
   * Records the answer, once; with `asked`, only to a question a node asked (the health gate's, which closes at
   * the run's end only if open). `also` is added to the update (the alarms a continue acknowledges). False when
   * it was not recorded.
   */
  decide(runId: string, answer: Answer, { asked = false, also }: { asked?: boolean; also?: Omit<QuestionUpdate, 'condition'> } = {}): Promise<boolean> {
    const notAnswered = 'attribute_not_exists(decision)';
    const askedByANode = 'attribute_exists(askedBy)';
    return this.write(runId, {
      update: `SET decision = :d, decidedBy = :by, decidedAt = :at, byTimeout = :t${also?.update ?? ''}`,
      condition: asked ? `${askedByANode} AND ${notAnswered}` : notAnswered,
      values: { ':d': answer.decision, ':by': answer.decidedBy, ':at': answer.decidedAt, ':t': answer.byTimeout, ...also?.values },
    });
  }
}

/** The asker and the answer as stored (attributes of another type are left out). */
export function questionRecordOf(item: Record<string, unknown>): QuestionRecord {
  return {
    ...(typeof item.askedBy === 'string' ? { askedBy: item.askedBy } : {}),
    ...(typeof item.decision === 'string' ? { decision: item.decision as QuestionDecision } : {}),
    ...(typeof item.decidedBy === 'string' ? { decidedBy: item.decidedBy } : {}),
    ...(typeof item.decidedAt === 'string' ? { decidedAt: item.decidedAt } : {}),
    ...(typeof item.byTimeout === 'boolean' ? { byTimeout: item.byTimeout } : {}),
  };
}
