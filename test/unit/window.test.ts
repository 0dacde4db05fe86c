import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_NODE_WINDOW_SECONDS,
  MAX_RECORDED_DURATIONS,
  cutoffAnswer,
  estimatesFrom,
  recordDurations,
  formatSeconds,
  nodeDurations,
  nodeEstimateSeconds,
  percentile,
  planWindow,
  resolveNotAfter,
  windowEstimates,
} from '../../core/window.js';
import { cutoffStatus } from '../../core/window-outcome.js';
import { parseInput } from '../../core/input-schema.js';
import { runContext } from '../../core/run-context.js';
import { planUpgrade } from '../../core/plan.js';
import { formatPlan } from '../../cli/plan.js';
import type { StepCheckpoint } from '../../core/summary.js';

const at = (seconds: number) => new Date(Date.UTC(2026, 10, 24, 10, 0, seconds)).toISOString();
const step = (nodeId: string, s: StepCheckpoint['step'], from: number, to: number, status: StepCheckpoint['status'] = 'SUCCEEDED'): StepCheckpoint => ({
  nodeId,
  step: s,
  status,
  exitCode: 0,
  warnings: [],
  startedAt: at(from),
  finishedAt: at(to),
});

describe('window durations recorded by earlier runs', () => {
  it('takes a node from its pre-upgrade validation start to its post-upgrade validation end', () => {
    const checkpoints = [
      step('dea-1', 'version-check', 0, 5),
      step('dea-1', 'pre-upgrade-validation', 10, 20),
      step('dea-1', 'post-upgrade-validation', 60, 70),
      step('core-1', 'pre-upgrade-validation', 100, 110),
      step('core-1', 'post-upgrade-validation', 300, 400, 'FAILED_IGNORED'),
    ];
    expect(nodeDurations(checkpoints, { 'dea-1': ['dea'], 'core-1': ['primary'] })).toEqual([
      { roles: ['dea'], seconds: 60 },
      { roles: ['primary'], seconds: 300 },
    ]);
  });

  it('leaves out nodes that failed, were rolled back, or did not go through the whole window', () => {
    const checkpoints = [
      step('dea-1', 'pre-upgrade-validation', 0, 10),
      step('dea-1', 'upgrade', 10, 20, 'FAILED'),
      step('dea-1', 'post-upgrade-validation', 30, 40),
      step('dea-2', 'pre-upgrade-validation', 0, 10),
      step('dea-2', 'rollback', 10, 20),
      step('dea-3', 'restart', 0, 10),
      step('dea-3', 'post-upgrade-validation', 10, 20),
      step('dea-4', 'pre-upgrade-validation', 0, 10),
    ];
    expect(nodeDurations(checkpoints, {})).toEqual([]);
  });
});

describe('window estimates', () => {
  it('uses the default before any run recorded a duration', () => {
    expect(windowEstimates([])).toEqual({ byRole: {}, overall: DEFAULT_NODE_WINDOW_SECONDS, samples: 0 });
  });

  it('takes the 90th percentile per role and overall, so one slow node in ten does not make it optimistic', () => {
    const deas = Array.from({ length: 10 }, (_, i) => ({ roles: ['dea'], seconds: i === 9 ? 500 : 100 + i }));
    const estimates = windowEstimates([...deas, { roles: ['primary'], seconds: 900 }]);
    expect(estimates.byRole).toEqual({ dea: 108, primary: 900 });
    expect(estimates.samples).toBe(11);
    expect(estimates.overall).toBe(500);
  });

  it('a run keeps its durations per role in whole seconds, thinned evenly past a few hundred so its percentiles survive', () => {
    expect(
      recordDurations([
        { roles: ['dea', 'router'], seconds: 59.2 },
        { roles: [], seconds: 10 },
      ]),
    ).toEqual({ byRole: { dea: [60], router: [60] }, all: [10, 60] });
    const many = Array.from({ length: 5000 }, (_, i) => ({ roles: ['dea'], seconds: i + 1 }));
    const kept = recordDurations(many);
    expect(kept.all).toHaveLength(MAX_RECORDED_DURATIONS);
    expect([kept.all[0], kept.all.at(-1)]).toEqual([1, 5000]);
    expect(Math.abs((estimatesFrom([kept]).byRole.dea as number) - 4500)).toBeLessThanOrEqual(10);
  });

  it('pools what several runs recorded', () => {
    const estimates = estimatesFrom([
      { byRole: { dea: [60] }, all: [60] },
      { byRole: { dea: [70], primary: [600] }, all: [70, 600] },
    ]);
    expect(estimates).toEqual({ byRole: { dea: 70, primary: 600 }, overall: 600, samples: 3 });
    expect(estimatesFrom([{ byRole: {}, all: [] }]).overall).toBe(DEFAULT_NODE_WINDOW_SECONDS);
  });

  it('estimates a node by its longest role, or the overall estimate for a role no run recorded', () => {
    const estimates = { byRole: { dea: 60, router: 120 }, overall: 90, samples: 3 };
    expect(nodeEstimateSeconds(estimates, ['dea', 'router'])).toBe(120);
    expect(nodeEstimateSeconds(estimates, ['mysql'])).toBe(90);
  });

  it('a percentile is one of the values and never below the median', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 50 }), (values) => {
        const p90 = percentile(values, 90);
        expect(values).toContain(p90);
        expect(p90).toBeGreaterThanOrEqual(percentile(values, 50));
      }),
    );
  });
});

describe('the cutoff at "May this node start?"', () => {
  const now = new Date('2026-11-24T10:00:00.000Z');
  it('lets a node start that is estimated to finish by notAfter', () => {
    expect(cutoffAnswer('2026-11-24T10:10:00.000Z', now, 'dea-1', 600)).toEqual({ go: true });
  });

  it('refuses a node estimated to finish after notAfter, saying when and how to carry on', () => {
    const answer = cutoffAnswer('2026-11-24T10:10:00.000Z', now, 'dea-1', 601);
    expect(answer).toMatchObject({ go: false, estimatedFinish: '2026-11-24T10:10:01.000Z' });
    expect(answer.go === false && answer.reason).toMatch(
      /^window cutoff: dea-1 would finish about 2026-11-24T10:10:01.000Z \(estimated 10m 01s\), after notAfter .*--resume-from/,
    );
  });

  it('ends the run INCOMPLETE only when nothing else went wrong', () => {
    const cutoff = { nodeId: 'dea-3', estimatedFinish: at(0), reason: 'window cutoff', at: at(0) };
    expect(cutoffStatus(cutoff, ['UPGRADED', 'SKIPPED', 'NOT_STARTED'], true)).toBe('INCOMPLETE');
    expect(cutoffStatus(cutoff, ['UPGRADED', 'ROLLED_BACK', 'NOT_STARTED'], true)).toBe('INCOMPLETE');
    expect(cutoffStatus(cutoff, ['UPGRADED', 'NEEDS_ATTENTION', 'NOT_STARTED'], true)).toBeNull();
    expect(cutoffStatus(cutoff, ['UPGRADED', 'ROLLED_BACK'], false)).toBeNull();
    expect(cutoffStatus(undefined, ['UPGRADED', 'NOT_STARTED'], true)).toBeNull();
  });
});

describe('the estimated window of a plan', () => {
  it('counts rounds of each group (nodes ÷ concurrency) and leaves skipped nodes out', () => {
    const estimates = { byRole: { dea: 60, primary: 300 }, overall: 100, samples: 4 };
    const up = (roles: string[]) => ({ roles, action: 'upgrade' as const });
    const window = planWindow(
      [
        { role: 'dea', concurrency: 2, nodes: [up(['dea']), up(['dea']), up(['dea']), { roles: ['dea'], action: 'skip' }] },
        { role: 'primary', concurrency: 1, nodes: [up(['primary'])] },
        { role: 'router', concurrency: 1, nodes: [{ roles: ['router'], action: 'skip' }] },
      ],
      estimates,
    );
    expect(window).toEqual({
      groups: [
        { role: 'dea', seconds: 120 },
        { role: 'primary', seconds: 300 },
        { role: 'router', seconds: 0 },
      ],
      totalSeconds: 420,
    });
  });

  it("`plan` shows each group's estimated window and the total, and whether it fits before notAfter", () => {
    const input = parseInput({
      cluster: 'c',
      targetVersion: '3.1.0',
      nodes: [
        { id: 'dea-1', roles: ['dea'] },
        { id: 'dea-2', roles: ['dea'] },
        { id: 'core-1', roles: ['primary'] },
      ],
      concurrency: { dea: 2 },
    });
    const plan = planUpgrade(
      input,
      input.nodes ?? [],
      new Map([
        ['dea-1', '3.0.0'],
        ['dea-2', '3.0.0'],
        ['core-1', '3.0.0'],
      ]),
    );
    const text = formatPlan(plan, { byRole: { dea: 60, primary: 300 }, overall: 100, samples: 4 }, '2999-01-01T00:00:00.000Z');
    expect(text).toContain('1. group dea (2 nodes, 2 at a time, about 1m 00s)');
    expect(text).toContain('2. group primary (1 node, 1 at a time, about 5m 00s)');
    expect(text).toContain("Estimated window: about 6m 00s, from 4 node durations of the cluster's recent runs (90th percentile per role)");
    expect(text).toMatch(/Not after 2999-01-01T00:00:00.000Z: fits if started now/);
    expect(formatPlan(plan, windowEstimates([]))).toContain('about 40m 00s, from the default of 20m 00s per node');
  });

  it('reads durations as an operator does', () => {
    expect([formatSeconds(45), formatSeconds(750), formatSeconds(3900)]).toEqual(['45s', '12m 30s', '1h 05m']);
  });
});

describe('notAfter in the input and the CLI', () => {
  const now = new Date('2026-11-24T10:00:00.000Z');
  it('turns +90m, +2h and ISO times into the absolute ISO time the input takes', () => {
    expect(resolveNotAfter('+90m', now)).toBe('2026-11-24T11:30:00.000Z');
    expect(resolveNotAfter('+2h', now)).toBe('2026-11-24T12:00:00.000Z');
    expect(resolveNotAfter('2026-11-24T12:00:00+01:00', now)).toBe('2026-11-24T11:00:00.000Z');
    expect(resolveNotAfter('tomorrow', now)).toBeNull();
    expect(resolveNotAfter('2026-11-24T12:00:00', now)).toBeNull();
  });

  it('names the field and the expected form for a time without a zone or no time at all', () => {
    const base = { cluster: 'demo', targetVersion: '3.1.0' };
    expect(() => parseInput({ ...base, notAfter: '2026-11-24 12:00' })).toThrow(/^notAfter: expected an ISO time with a zone/);
    expect(() => parseInput({ ...base, notAfter: '2026-13-45T12:00:00Z' })).toThrow(/^notAfter: expected a real date and time/);
  });

  it('refuses a cutoff that is not after the run starts, and normalizes one that is', () => {
    const input = parseInput({ cluster: 'demo', targetVersion: '3.1.0', notAfter: '2026-11-24T11:00:00+01:00' });
    expect(() => runContext(input, 'r1', '2026-11-24T10:00:00.000Z')).toThrow(/^notAfter: .* is not after the run's start/);
    expect(runContext(input, 'r1', '2026-11-24T09:00:00.000Z').notAfter).toBe('2026-11-24T10:00:00.000Z');
  });
});
