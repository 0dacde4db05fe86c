import type { CanaryDecision, CanaryState } from '../core/canary.js';
import { canaryKey } from './keys.js';
import { QuestionStore, questionRecordOf, type QuestionRecord } from './question-store.js';
import { strings, type Table } from './table.js';

/** The canary as recorded, with who decided. */
export interface CanaryRecord extends CanaryState, Omit<QuestionRecord, 'decision'> {}

/**
 * A run's canary (`RUN#id` / `CANARY`): the slots of its continue-or-abort question.
 *
 *   slots taken (nodes) ──each canary node done (done)──► asked (askedBy: the node that completed it)
 *        └─ a node may take a slot only while size(nodes) < N: parallel gates never take more than N
 *   asked ──continue | abort (decision, once)──► decided
 */
export class CanaryStore {
  private readonly question: QuestionStore;

  constructor(table: Table) {
    this.question = new QuestionStore(table, canaryKey);
  }

  /** Strongly consistent: the gate must see a slot taken, or a decision, a moment after it was written. */
  async get(runId: string): Promise<CanaryRecord | null> {
    const item = await this.question.read(runId);
    if (item === undefined) return null;
    return { nodes: strings(item.nodes), done: strings(item.done), ...questionRecordOf(item) };
  }

  /** Takes a canary slot for the node, unless all `size` are taken by others; true when the node holds one. */
  claim(runId: string, nodeId: string, size: number): Promise<boolean> {
    return this.question.write(runId, {
      update: 'ADD nodes :node',
      condition: 'attribute_not_exists(nodes) OR size(nodes) < :size OR contains(nodes, :id)',
      values: { ':node': new Set([nodeId]), ':size': size, ':id': nodeId },
    });
  }

  /** A canary node finished its part; the canary as it stands after. */
  async finished(runId: string, nodeId: string): Promise<CanaryRecord> {
    const holdsSlot = 'contains(nodes, :id)';
    const done = await this.question.write(runId, { update: 'ADD done :node', condition: holdsSlot, values: { ':node': new Set([nodeId]), ':id': nodeId } });
    if (!done) throw new Error(`node ${nodeId} holds no canary slot in run ${runId}: only a canary node can finish the canary`);
    return (await this.get(runId)) ?? { nodes: [], done: [] };
  }

  /** The node that completed the canary asks the question, once (its own retry asks again, no other node). */
  claimAsk(runId: string, nodeId: string): Promise<boolean> {
    return this.question.write(runId, { update: 'SET askedBy = :id', condition: 'attribute_not_exists(askedBy) OR askedBy = :id', values: { ':id': nodeId } });
  }

  /** Records the decision, once. */
  decide(runId: string, decision: CanaryDecision, by: string, at: string, byTimeout: boolean): Promise<boolean> {
    return this.question.decide(runId, { decision, decidedBy: by, decidedAt: at, byTimeout });
  }
}
