import { describe, expect, it } from 'vitest';
import { planUpgrade } from '../../core/plan.js';
import { parseInput } from '../../core/input-schema.js';
import { PlanError } from '../../core/errors.js';

const nodes = [
  { id: 'core-1', roles: ['primary', 'controller'] },
  { id: 'dea-2', roles: ['dea'] },
  { id: 'dea-1', roles: ['dea'] },
  { id: 'mysql-1', roles: ['mysql'] },
];

describe('plan', () => {
  it('lists groups in role order with the core node, retire flags and processing order', () => {
    const input = parseInput({ cluster: 'c', targetVersion: '3.1.0', nodes, concurrency: { dea: 2 } });
    const plan = planUpgrade(input, nodes, new Map([['dea-1', '3.1.0'], ['dea-2', '3.0.0']]));
    expect(plan.order).toEqual(['dea-1', 'dea-2', 'core-1', 'mysql-1']);
    expect(plan.coreNode).toBe('core-1');
    expect(plan.groups.map((g) => [g.role, g.concurrency])).toEqual([['dea', 2], ['primary', 1], ['unmatched', 1]]);
    expect(plan.groups[0]?.nodes).toEqual([
      { id: 'dea-1', roles: ['dea'], from: '3.1.0', to: '3.1.0', action: 'skip', reason: 'already at 3.1.0', retire: true },
      { id: 'dea-2', roles: ['dea'], from: '3.0.0', to: '3.1.0', action: 'upgrade', reason: '3.0.0 → 3.1.0', retire: true },
    ]);
    expect(plan.groups[1]?.nodes[0]).toMatchObject({ from: null, action: 'upgrade', retire: false });
  });

  it('upgrades a node already at the target when forced', () => {
    const input = parseInput({ cluster: 'c', targetVersion: '3.1.0', nodes, force: true });
    const plan = planUpgrade(input, nodes, new Map([['dea-1', '3.1.0']]));
    expect(plan.groups[0]?.nodes[0]).toMatchObject({ action: 'upgrade', reason: 'forced (at 3.1.0)' });
  });

  it('refuses a cluster with no primary node unless a core node is named', () => {
    const noPrimary = [{ id: 'dea-1', roles: ['dea'] }];
    expect(() => planUpgrade(parseInput({ cluster: 'c', targetVersion: '3.1.0', nodes: noPrimary }), noPrimary, new Map())).toThrow(PlanError);
    const plan = planUpgrade(parseInput({ cluster: 'c', targetVersion: '3.1.0', nodes: noPrimary, coreNode: 'dea-1' }), noPrimary, new Map());
    expect(plan.coreNode).toBe('dea-1');
  });
});
