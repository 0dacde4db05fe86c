import { describe, expect, it } from 'vitest';
import { canaryComplete, canaryGate, canaryKeepsHeld } from '../../core/canary.js';

describe('canary, then widen (core rules)', () => {
  it('without a canary every node goes', () => {
    expect(canaryGate(0, null, 'dea-1')).toEqual({ kind: 'go' });
  });

  it('the first N nodes to start claim the canary slots; the next ones are held until the decision', () => {
    expect(canaryGate(2, null, 'dea-1')).toEqual({ kind: 'claim' });
    expect(canaryGate(2, { nodes: ['dea-1'], done: [] }, 'dea-2')).toEqual({ kind: 'claim' });
    expect(canaryGate(2, { nodes: ['dea-2', 'dea-1'], done: [] }, 'dea-3')).toEqual({ kind: 'held', waitingFor: ['dea-1', 'dea-2'] });
    // A canary node asking again (a retried gate) keeps its slot.
    expect(canaryGate(2, { nodes: ['dea-1', 'dea-2'], done: [] }, 'dea-2')).toEqual({ kind: 'go' });
  });

  it('once decided, every node goes (an abort stops the run through its stop mark)', () => {
    expect(canaryGate(1, { nodes: ['dea-1'], done: ['dea-1'], decision: 'continue' }, 'dea-2')).toEqual({ kind: 'go' });
  });

  it('held nodes stay held while the canary is full and undecided, unless the run stops', () => {
    expect(canaryKeepsHeld(1, { nodes: ['dea-1'], done: [] }, false)).toBe(true);
    expect(canaryKeepsHeld(1, { nodes: ['dea-1'], done: [] }, true)).toBe(false);
    expect(canaryKeepsHeld(2, { nodes: ['dea-1'], done: [] }, false)).toBe(false);
    expect(canaryKeepsHeld(1, { nodes: ['dea-1'], done: ['dea-1'], decision: 'continue' }, false)).toBe(false);
  });

  it('the question is asked when every canary node is done', () => {
    expect(canaryComplete(2, { nodes: ['dea-1', 'dea-2'], done: ['dea-1'] })).toBe(false);
    expect(canaryComplete(2, { nodes: ['dea-1', 'dea-2'], done: ['dea-2', 'dea-1'] })).toBe(true);
    expect(canaryComplete(2, { nodes: ['dea-1'], done: ['dea-1'] })).toBe(false);
  });
});
