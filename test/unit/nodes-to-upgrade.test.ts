import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decideWindow, reportedVersions, windowPlan } from '../../core/nodes-to-upgrade.js';
import { parseInput } from '../../core/input-schema.js';
import { planUpgrade } from '../../core/plan.js';
import { NodeCheckFailed, PlanError } from '../../core/errors.js';
import type { Interrupted } from '../../core/state-plan.js';
import type { StepCheckpoint } from '../../core/summary.js';

const at = '2026-11-24T10:00:00.000Z';
const checked = (nodeId: string, version: unknown): StepCheckpoint => ({
  nodeId,
  step: 'version-check',
  status: 'SUCCEEDED',
  exitCode: 0,
  warnings: [],
  details: { version },
  startedAt: at,
});
const cluster = [
  { id: 'core-1', roles: ['primary'] },
  { id: 'dea-1', roles: ['dea'] },
  { id: 'dea-2', roles: ['dea'] },
];
const input = (more: Record<string, unknown> = {}) => parseInput({ cluster: 'c', targetVersion: '3.1.0', ...more });
const roles = Object.fromEntries(cluster.map((n) => [n.id, n.roles]));

describe('the versions the nodes reported before the window', () => {
  it('takes each node’s version check, ignoring a version that is not one', () => {
    const versions = reportedVersions(['dea-1', 'dea-2'], [], [checked('dea-1', '3.0.0'), checked('dea-2', '3.1.0'), checked('dea-2', 'garbage')]);
    expect(Object.fromEntries(versions)).toEqual({ 'dea-1': '3.0.0', 'dea-2': '3.1.0' });
  });

  it('stops the run with nothing changed when a node failed its checks, naming every such node and step', () => {
    const failed = [
      { nodeId: 'dea-1', status: 'FAILED' as const, from: null, to: null, failedStep: 'download' as const, at },
      { nodeId: 'dea-2', status: 'FAILED' as const, from: null, to: null, at },
    ];
    expect(() => reportedVersions(['dea-1', 'dea-2'], failed, [])).toThrow(NodeCheckFailed);
    expect(() => reportedVersions(['dea-1', 'dea-2'], failed, [])).toThrow(
      '2 nodes failed before the maintenance window, nothing was changed: dea-1 (download failed), dea-2 (a step failed)',
    );
  });

  it('is a plan error when a node of the run reported no version', () => {
    expect(() => reportedVersions(['dea-1', 'dea-2'], [], [checked('dea-1', '3.0.0')])).toThrow(PlanError);
    expect(() => reportedVersions(['dea-1', 'dea-2'], [], [checked('dea-1', '3.0.0')])).toThrow(/^no version reported by dea-2;/);
  });
});

describe('which nodes the window upgrades', () => {
  const reported = new Map([
    ['core-1', '3.1.0'],
    ['dea-1', '3.0.0'],
    ['dea-2', '3.1.0'],
  ]);

  it('upgrades the nodes behind the target and records the others as skipped at the version they run', () => {
    const decision = decideWindow(windowPlan(input(), roles, reported), undefined, at);
    expect(decision.output).toEqual({
      coreNode: 'core-1',
      upgradeCount: 1,
      skipCount: 2,
      groups: [{ role: 'dea', concurrency: 1, nodes: [{ id: 'dea-1', retire: true }] }],
      skipped: [
        { id: 'dea-2', reason: 'already at 3.1.0' },
        { id: 'core-1', reason: 'already at 3.1.0' },
      ],
    });
    expect(decision.skipped[0]).toEqual({
      roles: ['dea'],
      outcome: { nodeId: 'dea-2', status: 'SKIPPED', from: '3.1.0', to: '3.1.0', reason: 'already at 3.1.0', at },
    });
    expect(decision.first?.id).toBe('dea-1');
  });

  it('restarts and validates a node the earlier run switched but never validated, with the version it ran before', () => {
    const resume = { runId: 'r0', nodes: new Map<string, Interrupted>([['dea-2', { step: 'backup', from: '3.0.0' }]]) };
    const decision = decideWindow(windowPlan(input({ resumeFrom: 'r0' }), roles, reported), resume, at);
    expect(decision.output.groups[0]?.nodes).toEqual([
      { id: 'dea-1', retire: true },
      { id: 'dea-2', retire: true, resumeAt: 'restart', resumedFrom: '3.0.0' },
    ]);
    expect(decision.output.skipped).toEqual([{ id: 'core-1', reason: 'already at 3.1.0' }]);
    expect(resume.nodes.get('dea-2')?.step).toBe('backup');
  });

  it('plans over the whole cluster as recorded, the nodes only left out included', () => {
    const plan = windowPlan(input({ only: ['dea-1'] }), roles, new Map([['dea-1', '3.0.0']]));
    expect(plan.order).toEqual(['dea-1']);
    expect(plan.coreNode).toBe('core-1');
    expect(plan.notInRun).toEqual(['core-1', 'dea-2']);
  });

  const drawnCluster = fc
    .array(
      fc.record({
        roles: fc.subarray(['dea', 'router', 'controller'], { minLength: 1 }),
        version: fc.constantFrom('3.0.0', '3.1.0', undefined),
        resumeAt: fc.constantFrom('restart' as const, 'backup' as const, undefined),
      }),
      { minLength: 1, maxLength: 15 },
    )
    .map((drawn) => drawn.map((n, i) => ({ ...n, id: `node-${i}`, roles: i === 0 ? ['primary', ...n.roles] : n.roles })));

  it('the counts always add up to the number of nodes, and every node is either upgraded or recorded as skipped', () => {
    fc.assert(
      fc.property(drawnCluster, fc.boolean(), (nodes, force) => {
        const known = new Map(nodes.flatMap((n) => (n.version === undefined ? [] : [[n.id, n.version] as const])));
        const resumed = new Map(nodes.flatMap((n) => (n.resumeAt === undefined ? [] : [[n.id, { step: n.resumeAt, from: '3.0.0' }] as const])));
        const plan = planUpgrade(input({ force }), nodes, known);
        const { output, skipped } = decideWindow(plan, { runId: 'r0', nodes: resumed }, at);
        const items = output.groups.flatMap((g) => g.nodes.map((n) => n.id));
        expect(output.upgradeCount + output.skipCount).toBe(nodes.length);
        expect(items).toHaveLength(output.upgradeCount);
        expect(skipped).toHaveLength(output.skipCount);
        expect([...items, ...skipped.map((s) => s.outcome.nodeId)].sort()).toEqual(nodes.map((n) => n.id).sort());
      }),
    );
  });

  it('a node an earlier run left mid-window is never skipped, and a skipped node never reports a version it is not at', () => {
    fc.assert(
      fc.property(drawnCluster, (nodes) => {
        const known = new Map(nodes.flatMap((n) => (n.version === undefined ? [] : [[n.id, n.version] as const])));
        const resumed = new Map(nodes.flatMap((n) => (n.resumeAt === undefined ? [] : [[n.id, { step: n.resumeAt, from: '3.0.0' }] as const])));
        const { output, skipped, first } = decideWindow(planUpgrade(input(), nodes, known), { runId: 'r0', nodes: resumed }, at);
        const items = output.groups.flatMap((g) => g.nodes);
        for (const id of resumed.keys()) expect(items.find((n) => n.id === id)?.resumeAt).toBeDefined();
        for (const { outcome } of skipped) expect(outcome.to).toBe(known.get(outcome.nodeId));
        expect(first?.id).toBe(items[0]?.id);
      }),
    );
  });
});
