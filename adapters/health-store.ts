import type { FiringAlarm, HealthDecision, HealthState } from '../core/health.js';
import { healthKey } from './keys.js';
import { DECISION_ATTRIBUTES, QuestionStore, questionRecordOf, type QuestionRecord } from './question-store.js';
import { strings, type Table } from './table.js';

/** The health gate as recorded, with who decided. */
export interface HealthRecord extends HealthState, Omit<QuestionRecord, 'decision'> {
  askedAt?: string;
}

const alarms = (v: unknown): FiringAlarm[] =>
  Array.isArray(v) ? (v as Record<string, unknown>[]).map((a) => ({ name: String(a.name), reason: String(a.reason ?? '') })) : [];

/**
 * A run's health gate (`RUN#id` / `HEALTH`): its continue-or-abort question, about firing alarms.
 *
 *   passed (lastPassAt) ──an alarm fires, one node wins claimAsk──► asked (askedBy, alarms; decision removed)
 *   asked ──continue (alarms join acknowledged) | abort, once──► decided ──a new alarm──► asked again
 *        └─ while asked and undecided no other node may ask: one question at a time; after abort never again
 */
export class HealthStore {
  private readonly question: QuestionStore;

  constructor(table: Table) {
    this.question = new QuestionStore(table, healthKey);
  }

  /** Strongly consistent: the gate must see a question a moment after it was asked. */
  async get(runId: string): Promise<HealthRecord | null> {
    const item = await this.question.read(runId);
    if (item === undefined) return null;
    return {
      alarms: alarms(item.alarms),
      changedSince: strings(item.changedSince),
      acknowledged: strings(item.acknowledged),
      ...questionRecordOf(item),
      ...(typeof item.askedAt === 'string' ? { askedAt: item.askedAt } : {}),
      ...(typeof item.lastPassAt === 'string' ? { lastPassAt: item.lastPassAt } : {}),
    };
  }

  /** The gate passed (no alarm stops it): the start of "nodes changed since" for the next question. */
  async passed(runId: string, at: string): Promise<void> {
    await this.question.write(runId, { update: 'SET lastPassAt = :at', values: { ':at': at } });
  }

  /**
   * Opens the question with the node as its asker, unless another question is open (its own retry wins again)
   * or an abort was decided: true when this node asks.
   */
  claimAsk(runId: string, nodeId: string, firing: readonly FiringAlarm[], changedSince: readonly string[], at: string): Promise<boolean> {
    const noQuestion = 'attribute_not_exists(askedBy)';
    const mine = '(askedBy = :id AND attribute_not_exists(decision))';
    const continuedPast = 'decision = :continue';
    return this.question.write(runId, {
      update: `SET askedBy = :id, askedAt = :at, alarms = :alarms, changedSince = :changed REMOVE ${DECISION_ATTRIBUTES}`,
      condition: `${noQuestion} OR ${mine} OR ${continuedPast}`,
      values: {
        ':id': nodeId,
        ':at': at,
        ':alarms': firing.map((a) => ({ name: a.name, reason: a.reason.slice(0, 1000) })),
        ':changed': [...changedSince],
        ':continue': 'continue',
      },
    });
  }

  /** Records the decision on the open question, once; `continue` acknowledges its alarms for the rest of the run. */
  async decide(runId: string, decision: HealthDecision, by: string, at: string, byTimeout: boolean): Promise<boolean> {
    const open = await this.get(runId);
    const names = decision === 'continue' ? (open?.alarms.map((a) => a.name) ?? []) : [];
    const also = names.length > 0 ? { update: ' ADD acknowledged :names', values: { ':names': new Set(names) } } : undefined;
    return this.question.decide(runId, { decision, decidedBy: by, decidedAt: at, byTimeout }, { asked: true, ...(also ? { also } : {}) });
  }

  /** The run ended with the question open: it is closed as abort (nobody can answer it any more); false when none was open. */
  close(runId: string, by: string, at: string): Promise<boolean> {
    return this.question.decide(runId, { decision: 'abort', decidedBy: by, decidedAt: at, byTimeout: false }, { asked: true });
  }
}
