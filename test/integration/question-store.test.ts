import { describe, expect, it } from 'vitest';
import { CanaryStore } from '../../adapters/canary-store.js';
import { QuestionStore } from '../../adapters/question-store.js';
import { canaryKey } from '../../adapters/keys.js';
import { onContractTable } from '../support/contract-table.js';

// The continue-or-abort question (QuestionStore) under the canary's slots; the health gate's use of it:
// health-store.test.ts.

let canary: CanaryStore;
let question: QuestionStore;
onContractTable('question', (table) => {
  canary = new CanaryStore(table);
  question = new QuestionStore(table, canaryKey);
});

const at = '2026-11-30T01:00:00.000Z';

describe('a continue-or-abort question (RUN#id / CANARY, RUN#id / HEALTH)', () => {
  it('records one answer: a second is refused and the first stays, with who gave it and how', async () => {
    expect(await question.decide('q-once', { decision: 'continue', decidedBy: 'alice', decidedAt: at, byTimeout: false })).toBe(true);
    expect(await question.decide('q-once', { decision: 'abort', decidedBy: 'timeout', decidedAt: at, byTimeout: true })).toBe(false);
    expect(await question.read('q-once')).toMatchObject({ decision: 'continue', decidedBy: 'alice', decidedAt: at, byTimeout: false });
  });

  it('an answer that needs an asker is refused while no node asked', async () => {
    expect(await question.decide('q-asked', { decision: 'abort', decidedBy: 'bob', decidedAt: at, byTimeout: false }, { asked: true })).toBe(false);
    expect(await question.read('q-asked')).toBeUndefined();
    expect(await question.write('q-asked', { update: 'SET askedBy = :id', values: { ':id': 'dea-1' } })).toBe(true);
    expect(await question.decide('q-asked', { decision: 'abort', decidedBy: 'bob', decidedAt: at, byTimeout: false }, { asked: true })).toBe(true);
  });
});

describe('the canary (RUN#id / CANARY)', () => {
  it('gives at most N slots to nodes claiming at once; a node that holds one claims it again', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `dea-${i + 1}`);
    const won = await Promise.all(ids.map((id) => canary.claim('c-slots', id, 2)));
    const holders = ids.filter((_, i) => won[i]);
    expect(holders).toHaveLength(2);
    expect(await canary.claim('c-slots', holders[0] as string, 2)).toBe(true);
    expect((await canary.get('c-slots'))?.nodes).toEqual([...holders].sort());
  });

  it("counts a slot holder's finish once, and refuses the finish of a node without a slot", async () => {
    await canary.claim('c-done', 'dea-1', 2);
    await canary.claim('c-done', 'dea-2', 2);
    expect(await canary.finished('c-done', 'dea-1')).toEqual({ nodes: ['dea-1', 'dea-2'], done: ['dea-1'] });
    expect(await canary.finished('c-done', 'dea-1')).toMatchObject({ done: ['dea-1'] });
    await expect(canary.finished('c-done', 'dea-3')).rejects.toThrow('node dea-3 holds no canary slot');
  });

  it('one node asks (its own retry asks again); the decision is recorded once, with who decided', async () => {
    expect(await canary.claimAsk('c-ask', 'dea-1')).toBe(true);
    expect(await canary.claimAsk('c-ask', 'dea-1')).toBe(true);
    expect(await canary.claimAsk('c-ask', 'dea-2')).toBe(false);
    expect(await canary.decide('c-ask', 'abort', 'alice', at, false)).toBe(true);
    expect(await canary.decide('c-ask', 'continue', 'bob', at, true)).toBe(false);
    expect(await canary.get('c-ask')).toEqual({
      nodes: [],
      done: [],
      askedBy: 'dea-1',
      decision: 'abort',
      decidedBy: 'alice',
      decidedAt: at,
      byTimeout: false,
    });
  });

  it('has no record before a node claims a slot', async () => {
    expect(await canary.get('c-none')).toBeNull();
  });
});
