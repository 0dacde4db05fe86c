import { describe, expect, it } from 'vitest';
import { buildSummary, compactSummary, type StepCheckpoint } from '../../core/summary.js';

function summaryOf(count: number, failing: string[] = []) {
  const ids = Array.from({ length: count }, (_, i) => `i-${String(i).padStart(17, '0')}`);
  const checkpoints: StepCheckpoint[] = ids.flatMap((nodeId) =>
    (['self-update', 'version-check', 'download', 'backup', 'upgrade'] as const).map((step) => ({
      nodeId,
      step,
      status: failing.includes(nodeId) && step === 'upgrade' ? ('FAILED' as const) : ('SUCCEEDED' as const),
      exitCode: 0,
      warnings: [],
      startedAt: 't0',
      finishedAt: 't1',
    })),
  );
  return buildSummary({
    run: { runId: 'big-run', cluster: 'big', targetVersion: '3.2.0', coreNode: ids[0] ?? '', order: ids, roles: {}, plannedFrom: {}, startedAt: 't0' },
    checkpoints,
    outcomes: ids.filter((id) => !failing.includes(id)).map((nodeId) => ({ nodeId, status: 'UPGRADED' as const, from: '3.1.0', to: '3.2.0', at: 't1' })),
    lockReleased: true,
    finishedAt: 't2',
  });
}

describe('compactSummary', () => {
  it('leaves a summary that fits alone', () => {
    const small = summaryOf(5);
    expect(compactSummary(small)).toBe(small);
  });

  it('keeps counts, the failure and the nodes that did not end well when the summary is too large for the execution output', () => {
    const failing = ['i-00000000000000017', 'i-00000000000004000'];
    const big = summaryOf(5000, failing);
    expect(new TextEncoder().encode(JSON.stringify(big)).length).toBeGreaterThan(256 * 1024);
    const compact = compactSummary(big);
    expect(new TextEncoder().encode(JSON.stringify(compact)).length).toBeLessThan(200_000);
    expect(compact.counts).toEqual(big.counts);
    expect(compact.status).toBe('FAILED');
    expect(compact.failure).toEqual(big.failure);
    expect(compact.order).toEqual(failing);
    expect(Object.keys(compact.nodes)).toEqual(failing);
    expect(compact.truncated).toMatchObject({ nodes: 5000, nodesShown: 2 });
    expect(compact.truncated?.note).toContain('RUN#big-run');
  });
});

describe('nodes not in the run (only)', () => {
  it("are listed and counted, so the counts add up to the cluster's nodes", () => {
    const summary = buildSummary({
      run: {
        runId: 'r',
        cluster: 'c',
        targetVersion: '3.1.0',
        coreNode: 'core-1',
        order: ['dea-1'],
        roles: { 'dea-1': ['dea'], 'core-1': ['primary'], 'dea-2': ['dea'] },
        plannedFrom: {},
        startedAt: 't0',
        notInRun: ['core-1', 'dea-2'],
      },
      checkpoints: [],
      outcomes: [{ nodeId: 'dea-1', status: 'UPGRADED', from: '3.0.0', to: '3.1.0', at: 't1' }],
      lockReleased: true,
      finishedAt: 't2',
    });
    expect(summary.status).toBe('SUCCEEDED');
    expect(summary.notInRun).toEqual(['core-1', 'dea-2']);
    expect(Object.keys(summary.nodes)).toEqual(['dea-1']);
    expect(Object.values(summary.counts).reduce((a, b) => a + b, 0)).toBe(3);
    expect(summary.counts).toMatchObject({ upgraded: 1, notInRun: 2 });
  });
});

describe('step durations', () => {
  it('each finished step carries its seconds; the text table shows them and the node’s time in the window', async () => {
    const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 3, 0, 0) + s * 1000).toISOString();
    const step = (step: StepCheckpoint['step'], from: number, to: number | undefined, status: StepCheckpoint['status'] = 'SUCCEEDED'): StepCheckpoint => ({
      nodeId: 'dea-1',
      step,
      status,
      exitCode: status === 'FAILED' ? 1 : 0,
      warnings: [],
      startedAt: at(from),
      ...(to !== undefined ? { finishedAt: at(to) } : {}),
    });
    const summary = buildSummary({
      run: {
        runId: 'r',
        cluster: 'c',
        targetVersion: '3.1.0',
        coreNode: 'dea-1',
        order: ['dea-1'],
        roles: { 'dea-1': ['dea'] },
        plannedFrom: {},
        startedAt: at(0),
      },
      checkpoints: [step('download', 0, 2.04), step('backup', 3, 4.5), step('upgrade', 5, 5.25, 'FAILED'), step('rollback', 6, undefined, 'RUNNING')],
      outcomes: [],
      lockReleased: true,
      finishedAt: at(7),
    });
    const node = summary.nodes['dea-1'];
    expect(node?.steps.map((s) => s.seconds)).toEqual([2, 1.5, 0.3, undefined]);
    const { stepTimes, windowTime } = await import('../../cli/format-summary.js');
    if (node === undefined) throw new Error('no node');
    expect(stepTimes(node)).toBe('download 2.0, backup 1.5, upgrade 0.3 FAILED, rollback …');
    // Download ran before maintenance mode went on, so it is not the node's window time.
    expect(windowTime(node)).toBe('1.8 s');
  });
});

describe('a node the run checked but never changed', () => {
  it('is NOT_STARTED once its validation finished (a stop landed before it was retired), IN_PROGRESS while a step runs or after one changed it', () => {
    const step = (nodeId: string, s: StepCheckpoint['step'], status: StepCheckpoint['status'] = 'SUCCEEDED'): StepCheckpoint => ({
      nodeId,
      step: s,
      status,
      exitCode: 0,
      warnings: [],
      startedAt: 't0',
      ...(status === 'RUNNING' ? {} : { finishedAt: 't1' }),
    });
    const checks = (id: string) => [step(id, 'self-update'), step(id, 'version-check'), step(id, 'download')];
    const summary = buildSummary({
      run: { runId: 'r', cluster: 'c', targetVersion: '3.1.0', coreNode: 'a', order: ['a', 'b', 'c'], roles: {}, plannedFrom: {}, startedAt: 't0' },
      checkpoints: [
        ...checks('a'),
        step('a', 'pre-upgrade-validation'),
        ...checks('b'),
        step('b', 'pre-upgrade-validation', 'RUNNING'),
        ...checks('c'),
        step('c', 'pre-upgrade-validation'),
        step('c', 'retire'),
      ],
      outcomes: [],
      lockReleased: true,
      finishedAt: 't2',
    });
    expect([summary.nodes.a?.status, summary.nodes.b?.status, summary.nodes.c?.status]).toEqual(['NOT_STARTED', 'IN_PROGRESS', 'IN_PROGRESS']);
  });
});
