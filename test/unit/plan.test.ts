import { describe, expect, it } from 'vitest';
import { plannedRun, planUpgrade } from '../../core/plan.js';
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
    const plan = planUpgrade(
      input,
      nodes,
      new Map([
        ['dea-1', '3.1.0'],
        ['dea-2', '3.0.0'],
      ]),
    );
    expect(plan.order).toEqual(['dea-1', 'dea-2', 'core-1', 'mysql-1']);
    expect(plan.coreNode).toBe('core-1');
    expect(plan.groups.map((g) => [g.role, g.concurrency])).toEqual([
      ['dea', 2],
      ['primary', 1],
      ['unmatched', 1],
    ]);
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

describe('downgrades', () => {
  const cluster = [
    { id: 'core-1', roles: ['primary'] },
    { id: 'dea-1', roles: ['dea'] },
  ];

  it('refuses a target older than the cluster unless forced, naming the field and what to do', () => {
    const input = parseInput({ cluster: 'c', targetVersion: '3.0.9', nodes: cluster });
    expect(() =>
      planUpgrade(
        input,
        cluster,
        new Map([
          ['core-1', '3.0.10'],
          ['dea-1', '3.0.10'],
        ]),
      ),
    ).toThrow("targetVersion: 3.0.9 is older than core-1's 3.0.10 and 1 more node: that is a downgrade, which needs force (--force); nothing was changed");
    const forced = planUpgrade(
      { ...input, force: true },
      cluster,
      new Map([
        ['core-1', '3.0.10'],
        ['dea-1', '3.0.10'],
      ]),
    );
    expect(forced.groups.flatMap((g) => g.nodes.map((n) => n.reason))).toEqual(['forced downgrade 3.0.10 → 3.0.9', 'forced downgrade 3.0.10 → 3.0.9']);
  });

  it('treats a release as newer than its pre-releases', () => {
    const input = parseInput({ cluster: 'c', targetVersion: '3.2.0-rc.1', nodes: cluster });
    expect(() => planUpgrade(input, cluster, new Map([['core-1', '3.2.0']]))).toThrow(/downgrade/);
    const up = planUpgrade({ ...input, targetVersion: '3.2.0' }, cluster, new Map([['core-1', '3.2.0-rc.1']]));
    expect(up.groups.at(-1)?.nodes[0]).toMatchObject({ action: 'upgrade', reason: '3.2.0-rc.1 → 3.2.0' });
  });

  it('upgrades the nodes behind the target in a mixed cluster and skips the one ahead', () => {
    const input = parseInput({ cluster: 'c', targetVersion: '3.1.0', nodes: cluster });
    const plan = planUpgrade(
      input,
      cluster,
      new Map([
        ['core-1', '3.2.0'],
        ['dea-1', '3.0.0'],
      ]),
    );
    expect(plan.groups.flatMap((g) => g.nodes.map((n) => [n.id, n.action]))).toEqual([
      ['dea-1', 'upgrade'],
      ['core-1', 'skip'],
    ]);
  });
});

describe('per-role concurrency and the minimum-healthy guard', () => {
  const fleet = [
    ...Array.from({ length: 12 }, (_, i) => ({ id: `dea-${i + 1}`, roles: ['dea'] })),
    { id: 'router-1', roles: ['router'] },
    { id: 'router-2', roles: ['router'] },
    { id: 'core-1', roles: ['primary', 'router'] },
    ...Array.from({ length: 8 }, (_, i) => ({ id: `svc-${i + 1}`, roles: ['mysql'] })),
  ];
  const plan = (extra: Record<string, unknown>) => planUpgrade(parseInput({ cluster: 'c', targetVersion: '3.1.0', nodes: fleet, ...extra }), fleet, new Map());
  const concurrency = (p: ReturnType<typeof plan>) => Object.fromEntries(p.groups.map((g) => [g.role, [g.concurrency, g.limitedBy ?? null]]));

  it('takes out as many nodes as asked, per role, and never more than the group has', () => {
    expect(concurrency(plan({ concurrency: { dea: 4, unmatched: 4, router: 5 } }))).toEqual({
      dea: [4, null],
      router: [2, null],
      primary: [1, null],
      unmatched: [4, null],
    });
  });

  it('keeps minHealthy of a role in service, counting the role on every node that has it', () => {
    // router: 3 nodes have the role (router-1, router-2 and core-1); keep 2 → at most 1 out at once.
    // dea: 75 % of 12 = 9 stay → at most 3 out, although 4 were asked.
    expect(concurrency(plan({ concurrency: { dea: 4, router: 2 }, minHealthy: { router: 2, dea: '75%' } }))).toEqual({
      dea: [3, 'minHealthy.dea: 9 of 12 stay in service'],
      router: [1, 'minHealthy.router: 2 of 3 stay in service'],
      primary: [1, null],
      unmatched: [1, null],
    });
  });

  it('refuses a guard that leaves no node to upgrade', () => {
    expect(() => plan({ minHealthy: { unmatched: '100%' } })).toThrow(
      'minHealthy.unmatched: 8 of the 8 unmatched nodes must stay in service, so none can be taken out to upgrade; lower minHealthy.unmatched',
    );
  });

  it('refuses per-role settings for a role that is not in the order, naming the field', () => {
    expect(() => parseInput({ cluster: 'c', targetVersion: '3.1.0', concurrency: { mysql: 2 } })).toThrow(
      /^concurrency\.mysql: expected a role of the role order \(dea, controller, router, base, primary, unmatched\)/,
    );
    expect(() => parseInput({ cluster: 'c', targetVersion: '3.1.0', minHealthy: { dea: '150%' } })).toThrow(
      /^minHealthy\.dea: expected a whole number or a percentage/,
    );
    expect(parseInput({ cluster: 'c', targetVersion: '3.1.0', roleOrder: ['mysql'], concurrency: { mysql: 2 } }).concurrency).toEqual({ mysql: 2 });
  });
});

describe('what the plan phase records', () => {
  it('the order, the whole cluster’s roles and each node’s version as planned; prepareOnly and notInRun only when set', () => {
    const at = '2026-11-24T10:00:00.000Z';
    const run = { runId: 'r1', cluster: 'c', targetVersion: '3.1.0', startedAt: at };
    const cluster = [
      { id: 'core-1', roles: ['primary'] },
      { id: 'dea-1', roles: ['dea'] },
      { id: 'dea-2', roles: ['dea'] },
    ];
    const input = (more: Record<string, unknown> = {}) => parseInput({ cluster: 'c', targetVersion: '3.1.0', ...more });
    const plan = planUpgrade(input({ only: ['dea-1'] }), cluster, new Map([['dea-1', '3.0.0']]));
    expect(plannedRun(run, { prepareOnly: false }, plan, cluster)).toEqual({
      ...run,
      coreNode: 'core-1',
      order: ['dea-1'],
      roles: { 'core-1': ['primary'], 'dea-1': ['dea'], 'dea-2': ['dea'] },
      plannedFrom: { 'dea-1': '3.0.0' },
      notInRun: ['core-1', 'dea-2'],
    });
    expect(plannedRun(run, { prepareOnly: true }, planUpgrade(input(), cluster, new Map()), cluster)).toMatchObject({ prepareOnly: true });
    expect(plannedRun(run, { prepareOnly: false }, planUpgrade(input(), cluster, new Map()), cluster)).not.toHaveProperty('notInRun');
  });
});
