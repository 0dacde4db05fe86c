import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EARLIER_ATTEMPTS_KEPT,
  EARLIER_OUTPUT_TAIL_CHARS,
  attemptAction,
  earlierAttempts,
  recordedCommandAction,
  retryCheckpoint,
  sentCommandAction,
} from '../../core/earlier-attempt.js';
import type { CheckpointStatus, EarlierAttempt, StepCheckpoint } from '../../core/summary.js';

const STATUSES: CheckpointStatus[] = ['RUNNING', 'SUCCEEDED', 'NOTHING_TO_DO', 'FAILED', 'FAILED_IGNORED'];
const COMMAND_STATES = ['PENDING', 'ANSWERING', 'ANSWERED', 'STALE'];

const checkpoint = (status: CheckpointStatus, more: Partial<StepCheckpoint> = {}): StepCheckpoint => ({
  nodeId: 'dea-1',
  step: 'upgrade',
  status,
  exitCode: status === 'FAILED' ? 1 : null,
  warnings: [],
  startedAt: '2026-11-24T10:00:00.000Z',
  ...more,
});

const anEarlierAttempt: fc.Arbitrary<EarlierAttempt> = fc.record(
  { exitCode: fc.option(fc.integer({ min: 0, max: 255 })), outputTail: fc.string({ maxLength: 600 }), finishedAt: fc.constant('2026-11-24T09:00:00.000Z') },
  { requiredKeys: ['exitCode', 'outputTail'] },
);
const aCheckpoint: fc.Arbitrary<StepCheckpoint> = fc
  .record({
    status: fc.constantFrom(...STATUSES),
    commandId: fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: undefined }),
    outputTail: fc.option(fc.string({ maxLength: 2000 }), { nil: undefined }),
    finishedAt: fc.option(fc.constant('2026-11-24T10:05:00.000Z'), { nil: undefined }),
    earlierAttempts: fc.option(fc.array(anEarlierAttempt, { maxLength: 14 }), { nil: undefined }),
  })
  .map(({ status, ...more }) => checkpoint(status, Object.fromEntries(Object.entries(more).filter(([, v]) => v !== undefined)) as Partial<StepCheckpoint>));
const aCommandState = fc.oneof(fc.constantFrom(...COMMAND_STATES), fc.string());

describe('what a step attempt does about the checkpoint an earlier attempt left (core rules)', () => {
  it('a first attempt sends; a recorded command decides; a checkpoint without one looks for a command SSM sent; a finished one runs again', () => {
    expect(attemptAction(null)).toEqual({ kind: 'send' });
    for (const status of STATUSES) expect(attemptAction(checkpoint(status, { commandId: 'c-1' }))).toEqual({ kind: 'look-up-command', commandId: 'c-1' });
    expect(attemptAction(checkpoint('RUNNING'))).toEqual({ kind: 'find-sent', since: '2026-11-24T10:00:00.000Z' });
    expect(attemptAction(checkpoint('FAILED'))).toEqual({ kind: 'find-sent', since: '2026-11-24T10:00:00.000Z' });
    for (const status of ['SUCCEEDED', 'NOTHING_TO_DO', 'FAILED_IGNORED'] as const) expect(attemptAction(checkpoint(status))).toEqual({ kind: 'run-again' });
  });

  it('every earlier checkpoint maps to exactly one first action, and one that names its command is decided by that command', () => {
    fc.assert(
      fc.property(aCheckpoint, (previous) => {
        const action = attemptAction(previous);
        expect(['run-again', 'look-up-command', 'find-sent']).toContain(action.kind);
        expect(action.kind === 'look-up-command').toBe(previous.commandId !== undefined);
      }),
    );
  });

  it('a command a task already took is never taken over, whichever way it is found; every other state is', () => {
    fc.assert(
      fc.property(aCommandState, (state) => {
        const command = { state, commandId: 'c-1' };
        const recorded = recordedCommandAction(command);
        const sent = sentCommandAction(command);
        expect(recorded.kind).toBe(state === 'ANSWERED' ? 'run-again' : 'take-over');
        expect(sent.kind).toBe(state === 'ANSWERED' ? 'skip' : 'point-checkpoint');
        if (recorded.kind === 'take-over') expect(recorded.command).toBe(command);
        if (sent.kind === 'point-checkpoint') expect(sent.command).toBe(command);
      }),
    );
  });

  it('a recorded command whose record is gone runs the step again; a sent one never recorded is recorded and taken over', () => {
    expect(recordedCommandAction(null)).toEqual({ kind: 'run-again' });
    expect(sentCommandAction(null)).toEqual({ kind: 'record-command' });
  });
});

describe("a retried step's earlier attempts (core rules)", () => {
  it('keeps the failure it replaces, its exit code, the end of its output and when it finished', () => {
    const previous = checkpoint('FAILED', { exitCode: 4, outputTail: `${'x'.repeat(600)}disk full`, finishedAt: '2026-11-24T10:05:00.000Z' });
    expect(retryCheckpoint(previous, '2026-11-24T10:10:00.000Z')).toEqual({
      nodeId: 'dea-1',
      step: 'upgrade',
      status: 'RUNNING',
      exitCode: null,
      warnings: [],
      startedAt: '2026-11-24T10:10:00.000Z',
      earlierAttempts: [{ exitCode: 4, outputTail: `${'x'.repeat(EARLIER_OUTPUT_TAIL_CHARS - 9)}disk full`, finishedAt: '2026-11-24T10:05:00.000Z' }],
    });
  });

  it('an attempt that did not fail adds nothing, and a checkpoint with no failures on record carries no list', () => {
    expect(retryCheckpoint(checkpoint('RUNNING'), '2026-11-24T10:10:00.000Z')).not.toHaveProperty('earlierAttempts');
    expect(earlierAttempts(checkpoint('SUCCEEDED', { earlierAttempts: [{ exitCode: 1, outputTail: 'a' }] }))).toEqual([{ exitCode: 1, outputTail: 'a' }]);
  });

  it('the failures on record are the last ten of the earlier list plus the failure replaced, in order, each output at most 500 characters', () => {
    fc.assert(
      fc.property(aCheckpoint, (previous) => {
        const kept = earlierAttempts(previous);
        const all = [...(previous.earlierAttempts ?? []), ...(previous.status === 'FAILED' ? [earlierAttempts({ ...previous, earlierAttempts: [] })[0]] : [])];
        expect(kept.length).toBe(Math.min(EARLIER_ATTEMPTS_KEPT, all.length));
        expect(kept).toEqual(all.slice(all.length - kept.length));
        if (previous.status === 'FAILED') expect(kept.at(-1)?.outputTail).toBe((previous.outputTail ?? '').slice(-EARLIER_OUTPUT_TAIL_CHARS));
      }),
    );
  });

  it('the checkpoint a retry starts with is RUNNING, with no result of its own, for the same node and step', () => {
    fc.assert(
      fc.property(aCheckpoint, (previous) => {
        const next = retryCheckpoint(previous, '2026-11-24T11:00:00.000Z');
        expect(next).toMatchObject({
          nodeId: previous.nodeId,
          step: previous.step,
          status: 'RUNNING',
          exitCode: null,
          warnings: [],
          startedAt: '2026-11-24T11:00:00.000Z',
        });
        expect(next).not.toHaveProperty('commandId');
        expect(next).not.toHaveProperty('finishedAt');
      }),
    );
  });
});
