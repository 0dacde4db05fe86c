import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cleanupStepResult, cleanupStepStart, keepsWaiting, settleAction, stepDeadlineMs } from '../../core/cleanup-step.js';
import { FINAL_COMMAND_STATUSES, FINAL_STATUS_DETAILS } from '../../core/command-status.js';
import { STEP_IDS, STEP_TIMEOUT_SECONDS, unresponsiveAfterSeconds, type StepId } from '../../core/steps.js';
import type { CheckpointStatus, StepCheckpoint } from '../../core/summary.js';

const START = Date.parse('2026-11-24T10:00:00.000Z');
const STATUSES: CheckpointStatus[] = ['RUNNING', 'SUCCEEDED', 'NOTHING_TO_DO', 'FAILED', 'FAILED_IGNORED'];
const checkpoint = (step: StepId, status: CheckpointStatus, more: Partial<StepCheckpoint> = {}): StepCheckpoint => ({
  nodeId: 'dea-1',
  step,
  status,
  exitCode: null,
  warnings: [],
  startedAt: new Date(START).toISOString(),
  ...more,
});
const aCheckpoint = fc
  .record({
    step: fc.constantFrom<StepId>(...STEP_IDS),
    status: fc.constantFrom(...STATUSES),
    startedSecondsAgo: fc.integer({ min: 0, max: 10_000 }),
    timeoutSeconds: fc.option(fc.integer({ min: 1, max: 3600 }), { nil: undefined }),
    commandId: fc.option(fc.constant('c-1'), { nil: undefined }),
  })
  .map(({ step, status, startedSecondsAgo, timeoutSeconds, commandId }) =>
    checkpoint(step, status, {
      startedAt: new Date(START - startedSecondsAgo * 1000).toISOString(),
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
      ...(commandId !== undefined ? { commandId } : {}),
    }),
  );
const boundOf = (c: StepCheckpoint) => stepDeadlineMs(c.startedAt, c.timeoutSeconds ?? STEP_TIMEOUT_SECONDS[c.step]);

describe("the cleanup's own steps (core rules)", () => {
  it("waits for a step the stop caught while it may still run, by the step's own bound, and never for a rollback", () => {
    const upgrade = checkpoint('upgrade', 'RUNNING', { timeoutSeconds: 60 });
    expect(settleAction([upgrade, null], START + 1000)).toEqual({ kind: 'wait', steps: ['upgrade'] });
    expect(settleAction([upgrade], START + unresponsiveAfterSeconds(60) * 1000)).toEqual({ kind: 'settled' });
    expect(settleAction([checkpoint('rollback', 'RUNNING')], START)).toEqual({ kind: 'settled' });
    expect(settleAction([checkpoint('upgrade', 'FAILED')], START)).toEqual({ kind: 'settled' });
  });

  it("settling always ends: once every step's bound has passed, the node is settled whatever its checkpoints say", () => {
    fc.assert(
      fc.property(fc.array(fc.option(aCheckpoint), { maxLength: 12 }), (checkpoints) => {
        const last = Math.max(START, ...checkpoints.flatMap((c) => (c === null ? [] : [boundOf(c)])));
        expect(settleAction(checkpoints, last)).toEqual({ kind: 'settled' });
      }),
    );
  });

  it('settling waits for exactly the RUNNING steps, other than a rollback, still within their bound', () => {
    fc.assert(
      fc.property(fc.array(aCheckpoint, { maxLength: 12 }), (checkpoints) => {
        const waited = checkpoints.filter((c) => c.status === 'RUNNING' && c.step !== 'rollback' && START < boundOf(c)).map((c) => c.step);
        expect(settleAction(checkpoints, START)).toEqual(waited.length === 0 ? { kind: 'settled' } : { kind: 'wait', steps: waited });
      }),
    );
  });

  it('never sends a second command while one it recorded may still run, and never runs a step again once it ended other than FAILED', () => {
    fc.assert(
      fc.property(fc.option(aCheckpoint), (earlier) => {
        const start = cleanupStepStart(earlier);
        const recordedRunning = earlier?.status === 'RUNNING' && earlier.commandId !== undefined;
        const ended = earlier !== null && earlier.status !== 'RUNNING' && earlier.status !== 'FAILED';
        expect(start.kind).toBe(recordedRunning ? 'wait-for' : ended ? 'done' : 'send');
        if (start.kind === 'wait-for') expect(start).toEqual({ kind: 'wait-for', commandId: earlier?.commandId, startedAt: earlier?.startedAt });
        if (start.kind === 'done') expect(start.result.outcome).toBe(earlier?.status);
      }),
    );
  });

  it("waits for its command until SSM says it ended or the command's deadline passed; an unreadable invocation is not an end", () => {
    const deadline = START + 60_000;
    expect(keepsWaiting(null, deadline, START)).toBe(true);
    expect(keepsWaiting({ status: 'InProgress' }, deadline, START)).toBe(true);
    expect(keepsWaiting({ status: 'InProgress' }, deadline, deadline)).toBe(false);
    fc.assert(
      fc.property(fc.constantFrom(...FINAL_COMMAND_STATUSES, ...FINAL_STATUS_DETAILS), fc.integer({ min: -100_000, max: 100_000 }), (status, offset) => {
        expect(keepsWaiting({ status }, deadline, deadline + offset)).toBe(false);
      }),
    );
  });

  it("reads no word from SSM as a failure that says so, and a silent end by SSM's status", () => {
    expect(cleanupStepResult('rollback', 'dea-1', '3.1.0', null)).toMatchObject({ outcome: 'FAILED', exitCode: null, outputTail: 'SSM status unknown' });
    expect(cleanupStepResult('rollback', 'dea-1', '3.1.0', { status: 'TimedOut', exitCode: null, stdout: '', stderr: '' }).outputTail).toBe(
      'SSM status TimedOut',
    );
    expect(
      cleanupStepResult('maintenance-off', 'core-1', '3.1.0', { status: 'Success', exitCode: 0, stdout: 'off\n{"version":"3.0.0"}', stderr: '' }),
    ).toMatchObject({ outcome: 'SUCCEEDED', exitCode: 0, details: { version: '3.0.0' } });
  });
});
