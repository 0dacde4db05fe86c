import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { closingDecision, interruptedNodes, maintenanceOffNeeded, rolledBackOutcome, stoppedRunAction } from '../../core/stopped-run.js';
import { endedWithoutCleanup } from '../../core/execution-status.js';
import { NODE_PIPELINE, STEP_IDS, type StepId } from '../../core/steps.js';
import type { StepOutcome, StepResult } from '../../core/step-result.js';
import type { CheckpointStatus } from '../../core/summary.js';

const FROM_RETIRE = NODE_PIPELINE.slice(NODE_PIPELINE.indexOf('retire'));
const at = '2026-11-24T10:00:00.000Z';
const rollback = (outcome: StepOutcome, version?: unknown): StepResult => ({
  step: 'rollback',
  nodeId: 'dea-1',
  outcome,
  exitCode: outcome === 'FAILED' ? 1 : 0,
  details: version === undefined ? {} : { version },
  outputTail: '',
  warnings: [],
  atTarget: false,
});

describe('what a stopped run needs (core rules)', () => {
  it('a run never planned, or one its own failure path summarized, needs only its lock released; any other is cleaned up', () => {
    expect(stoppedRunAction(null, false)).toEqual({ kind: 'release-lock', reason: 'never-planned' });
    expect(stoppedRunAction({ runId: 'r1' }, true)).toEqual({ kind: 'release-lock', reason: 'summarized' });
    expect(stoppedRunAction({ runId: 'r1' }, false)).toEqual({ kind: 'clean-up', run: { runId: 'r1' } });
  });

  it('rolls back a node the stop caught from retire on, not one still in its checks, nor one whose outcome is recorded', () => {
    const checkpoints = [
      { nodeId: 'dea-1', step: 'upgrade' as const },
      { nodeId: 'dea-2', step: 'download' as const },
      { nodeId: 'dea-3', step: 'retire' as const },
      { nodeId: 'core-1', step: 'maintenance-on' as const },
      { nodeId: 'dea-1', step: 'restart' as const },
    ];
    expect(interruptedNodes(checkpoints, [])).toEqual(['dea-1', 'dea-3']);
    expect(interruptedNodes(checkpoints, [{ nodeId: 'dea-1' }])).toEqual(['dea-3']);
  });

  it('settling rolls back every node caught mid-upgrade exactly once, in the order they started, and never touches a node that has its outcome', () => {
    const nodes = ['dea-1', 'dea-2', 'router-1', 'core-1'];
    fc.assert(
      fc.property(
        fc.array(fc.record({ nodeId: fc.constantFrom(...nodes), step: fc.constantFrom<StepId>(...STEP_IDS) }), { maxLength: 30 }),
        fc.subarray(nodes),
        (checkpoints, finished) => {
          const rolled = interruptedNodes(
            checkpoints,
            finished.map((nodeId) => ({ nodeId })),
          );
          const caught = checkpoints.filter((c) => FROM_RETIRE.includes(c.step)).map((c) => c.nodeId);
          expect(new Set(rolled).size).toBe(rolled.length);
          expect(rolled).toEqual([...new Set(caught)].filter((id) => !finished.includes(id)));
        },
      ),
    );
  });

  it('records a rolled-back node as FAILED at the rollback, from the planned version to the one it was rolled back to', () => {
    expect(rolledBackOutcome('dea-1', rollback('SUCCEEDED', '3.0.0'), '3.0.0', at)).toEqual({
      node: { nodeId: 'dea-1', outcome: 'SUCCEEDED', version: '3.0.0' },
      outcome: {
        nodeId: 'dea-1',
        status: 'FAILED',
        from: '3.0.0',
        to: '3.0.0',
        failedStep: 'rollback',
        reason: "the run was stopped during this node's upgrade; rolled back",
        at,
      },
    });
  });

  it('every rolled-back node ends with an outcome whose version is the one its rollback reported, or unknown when the rollback failed', () => {
    const aVersion = fc.option(fc.constantFrom('2.9.0', '3.0.0', '3.1.0'), { nil: undefined });
    fc.assert(
      fc.property(
        fc.constantFrom<StepOutcome>('SUCCEEDED', 'NOTHING_TO_DO', 'FAILED', 'FAILED_IGNORED'),
        fc.oneof(aVersion, fc.integer()),
        fc.option(fc.constantFrom('2.9.0', '3.0.0')),
        fc.boolean(),
        (outcome, reported, planned, knownToPlan) => {
          const { node, outcome: recorded } = rolledBackOutcome('dea-1', rollback(outcome, reported), knownToPlan ? planned : undefined, at);
          const version = typeof reported === 'string' ? reported : null;
          expect(node).toEqual({ nodeId: 'dea-1', outcome, version });
          expect(recorded).toMatchObject({ nodeId: 'dea-1', status: 'FAILED', failedStep: 'rollback', at });
          expect(recorded.to).toBe(outcome === 'FAILED' ? null : version);
          expect(recorded.from).toBe((knownToPlan ? planned : undefined) ?? version);
        },
      ),
    );
  });

  it("closes the run's approvals as a rollback, decided by how the run ended, never by a timeout", () => {
    expect(closingDecision(endedWithoutCleanup('ABORTED', null, null), at)).toEqual({
      decision: 'rollback',
      decidedBy: 'the run was stopped',
      decidedAt: at,
      byTimeout: false,
    });
  });

  it('turns maintenance mode off unless the run already did (SUCCEEDED or NOTHING_TO_DO)', () => {
    const statuses: CheckpointStatus[] = ['RUNNING', 'SUCCEEDED', 'NOTHING_TO_DO', 'FAILED', 'FAILED_IGNORED'];
    expect(maintenanceOffNeeded(null)).toBe(true);
    expect(statuses.filter((status) => maintenanceOffNeeded({ status }))).toEqual(['RUNNING', 'FAILED', 'FAILED_IGNORED']);
  });
});
