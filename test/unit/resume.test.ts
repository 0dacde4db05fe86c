import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { interruptedNodes, resumableRun } from '../../core/resume.js';
import { InputValidationError } from '../../core/errors.js';
import type { StepId } from '../../core/steps.js';
import type { NodeOutcome, StepCheckpoint } from '../../core/summary.js';

const at = '2026-11-24T10:00:00.000Z';
const done = (nodeId: string, ...steps: StepId[]): StepCheckpoint[] =>
  steps.map((step) => ({ nodeId, step, status: 'SUCCEEDED', exitCode: 0, warnings: [], startedAt: at }));
const outcome = (nodeId: string, status: NodeOutcome['status'], from: string | null = '3.0.0'): NodeOutcome => ({ nodeId, status, from, to: from, at });

describe('which run a resumed run may carry on from', () => {
  it('refuses a run that was not found or still runs, naming resumeFrom', () => {
    expect(() => resumableRun('c', 'r0', null)).toThrow(InputValidationError);
    expect(() => resumableRun('c', 'r0', null)).toThrow(/^resumeFrom: run r0 of cluster c was not found$/);
    expect(() => resumableRun('c', 'r0', { status: 'RUNNING' })).toThrow(/^resumeFrom: run r0 is still running; resume a run that stopped$/);
  });

  it('takes a run that stopped, whatever its end', () => {
    const stopped = { status: 'ABORTED', order: ['n1'] };
    expect(resumableRun('c', 'r0', stopped)).toBe(stopped);
  });
});

describe('where each node of a stopped run resumes', () => {
  const order = ['switched', 'retired', 'backed-up', 'rolled-back', 'cleanup-rolled-back', 'untouched', 'upgraded'];
  const previous = { order, plannedFrom: Object.fromEntries(order.map((id) => [id, '3.0.0'])) };

  it('switched: restart; retired (backed up or not): backup; rolled back, untouched or upgraded: from the start', () => {
    const checkpoints = [
      ...done('switched', 'retire', 'backup', 'upgrade'),
      ...done('retired', 'retire'),
      ...done('backed-up', 'retire', 'backup'),
      ...done('rolled-back', 'retire', 'backup', 'upgrade', 'rollback'),
      ...done('cleanup-rolled-back', 'retire', 'backup', 'upgrade', 'rollback'),
      ...done('upgraded', 'retire', 'backup', 'upgrade', 'restart', 'post-upgrade-validation'),
    ];
    // The cleanup of a stopped run records its rollback as a failure of the node's upgrade.
    const outcomes = [
      outcome('rolled-back', 'ROLLED_BACK'),
      { ...outcome('cleanup-rolled-back', 'FAILED'), failedStep: 'rollback' as const },
      outcome('upgraded', 'UPGRADED'),
    ];
    const resumed = interruptedNodes(previous, checkpoints, outcomes);
    expect(Object.fromEntries(resumed)).toEqual({
      switched: { step: 'restart', from: '3.0.0' },
      retired: { step: 'backup', from: '3.0.0' },
      'backed-up': { step: 'backup', from: '3.0.0' },
    });
  });

  it("carries the version from the node's outcome first, then the plan's, else unknown", () => {
    const checkpoints = [...done('a', 'retire', 'upgrade'), ...done('b', 'retire', 'upgrade'), ...done('c', 'retire', 'upgrade')];
    const resumed = interruptedNodes({ order: ['a', 'b', 'c'], plannedFrom: { a: '2.9.0', b: '2.9.0', c: null } }, checkpoints, [
      { ...outcome('a', 'NEEDS_ATTENTION', '3.0.0'), to: null },
    ]);
    expect(resumed.get('a')?.from).toBe('3.0.0');
    expect(resumed.get('b')?.from).toBe('2.9.0');
    expect(resumed.get('c')?.from).toBeNull();
  });

  it('a node switched to the new release and not settled resumes at restart, never at backup; settled or rolled-back nodes never resume', () => {
    const steps: StepId[] = ['retire', 'backup', 'upgrade', 'rollback'];
    const node = fc.record({
      done: fc.subarray(steps),
      failed: fc.subarray(steps),
      outcome: fc.option(fc.constantFrom<NodeOutcome['status']>('UPGRADED', 'SKIPPED', 'ROLLED_BACK', 'FAILED', 'NEEDS_ATTENTION'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(node, { maxLength: 12 }), (drawn) => {
        const nodes = drawn.map((n, i) => ({ ...n, id: `n${i}` }));
        const checkpoints = nodes.flatMap((n) => [
          ...done(n.id, ...n.done),
          ...n.failed.map((step): StepCheckpoint => ({ nodeId: n.id, step, status: 'FAILED', exitCode: 1, warnings: [], startedAt: at })),
        ]);
        const outcomes = nodes.flatMap((n) => (n.outcome === undefined ? [] : [outcome(n.id, n.outcome)]));
        const resumed = interruptedNodes({ order: nodes.map((n) => n.id), plannedFrom: {} }, checkpoints, outcomes);
        for (const n of nodes) {
          const settled = n.outcome === 'UPGRADED' || n.outcome === 'SKIPPED' || n.outcome === 'ROLLED_BACK' || n.done.includes('rollback');
          if (settled) expect(resumed.has(n.id)).toBe(false);
          else if (n.done.includes('upgrade')) expect(resumed.get(n.id)?.step).toBe('restart');
          else expect(resumed.get(n.id)?.step).toBe(n.done.includes('retire') ? 'backup' : undefined);
        }
        expect(resumed.size).toBeLessThanOrEqual(nodes.length);
      }),
    );
  });
});
