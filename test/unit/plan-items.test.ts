import { describe, expect, it } from 'vitest';
import { planFromItems, planItems } from '../../adapters/plan-items.js';

describe('plan items', () => {
  const run = {
    order: ['dea-1', 'ctl-1'],
    roles: { 'dea-1': ['dea'], 'ctl-1': ['controller'], 'core-1': ['primary'] },
    plannedFrom: { 'dea-1': '3.0.0', 'ctl-1': null },
    notInRun: ['core-1'],
  };

  it("records the nodes only left out after the run's own, marked, and reads the run back as it was planned", () => {
    const items = planItems(run);
    expect(items.map((i) => [i.nodeId, i.seq, i.notInRun ?? false])).toEqual([
      ['dea-1', 0, false],
      ['ctl-1', 1, false],
      ['core-1', 2, true],
    ]);
    expect(planFromItems([...items].reverse())).toEqual(run);
  });

  it('reads a run without only as before: no notInRun', () => {
    const plain = { order: ['a'], roles: { a: ['dea'] }, plannedFrom: { a: null } };
    expect(planFromItems(planItems(plain))).toEqual(plain);
  });
});
