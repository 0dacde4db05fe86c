import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TAKE_OVER_ROUNDS, takeOverAction, takeOverBackoffMs, takeOverReads, unresponsiveInvocation, type TakenCommand } from '../../core/take-over.js';
import { FINAL_COMMAND_STATUSES, FINAL_STATUS_DETAILS, type CommandInvocation } from '../../core/command-status.js';
import { unresponsiveAfterSeconds } from '../../core/steps.js';
import type { CheckpointStatus, StepCheckpoint } from '../../core/summary.js';

const SENT = Date.parse('2026-11-24T10:00:00.000Z');
const command = (state: string, timeoutSeconds?: number): TakenCommand => ({
  state,
  nodeId: 'dea-1',
  step: 'upgrade',
  sentAt: new Date(SENT).toISOString(),
  ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
});
const invocation = (status: string): CommandInvocation => ({ status, exitCode: status === 'Success' ? 0 : null, stdout: '', stderr: '' });
const checkpoint = (status: CheckpointStatus): StepCheckpoint => ({
  nodeId: 'dea-1',
  step: 'upgrade',
  status,
  exitCode: 0,
  warnings: [],
  startedAt: '2026-11-24T10:00:00.000Z',
});
const after = (seconds: number) => new Date(SENT + seconds * 1000);

const FINAL = [...FINAL_COMMAND_STATUSES, ...FINAL_STATUS_DETAILS];
const STATES = ['PENDING', 'ANSWERING', 'ANSWERED', 'STALE'];
const CHECKPOINT_STATUSES: CheckpointStatus[] = ['RUNNING', 'SUCCEEDED', 'NOTHING_TO_DO', 'FAILED', 'FAILED_IGNORED'];
const anInvocationStatus = fc.oneof(fc.constantFrom(...FINAL, 'Pending', 'InProgress', 'Delayed'), fc.string());

/** One round's facts as the handler gathers them: it reads only what takeOverReads asks for. */
const aRound = fc
  .record({
    state: fc.oneof(fc.constantFrom(...STATES), fc.string()),
    gone: fc.boolean(),
    checkpoint: fc.option(fc.constantFrom(...CHECKPOINT_STATUSES)),
    invocationStatus: anInvocationStatus,
    timeoutSeconds: fc.option(fc.integer({ min: 1, max: 3600 }), { nil: undefined }),
    elapsedSeconds: fc.integer({ min: 0, max: 20_000 }),
  })
  .map(({ state, gone, checkpoint: status, invocationStatus, timeoutSeconds, elapsedSeconds }) => {
    const reads = takeOverReads(state);
    return {
      command: gone ? null : command(state, timeoutSeconds),
      ...(reads === 'checkpoint' ? { checkpoint: status === null ? null : checkpoint(status) } : {}),
      ...(reads === 'invocation' ? { invocation: invocation(invocationStatus) } : {}),
      now: after(elapsedSeconds),
      defaultTimeoutSeconds: 1800,
    };
  });

describe("taking over an earlier attempt's command (core rules)", () => {
  it('reads the checkpoint of a STALE command, the invocation of a PENDING one, nothing otherwise', () => {
    expect(takeOverReads('STALE')).toBe('checkpoint');
    expect(takeOverReads('PENDING')).toBe('invocation');
    expect(takeOverReads('ANSWERING')).toBe('nothing');
    expect(takeOverReads('ANSWERED')).toBe('nothing');
  });

  it('every command state maps to exactly one action, and only a PENDING command is claimed, cancelled or re-pointed', () => {
    const allowed: Record<string, string[]> = {
      gone: ['give-up'],
      ANSWERED: ['answered-meanwhile'],
      STALE: ['answer-stored', 'look-again'],
      PENDING: ['reconcile', 'cancel-unresponsive', 'repoint'],
      other: ['look-again'],
    };
    fc.assert(
      fc.property(aRound, (facts) => {
        const state = facts.command === null ? 'gone' : Object.hasOwn(allowed, facts.command.state) ? facts.command.state : 'other';
        expect(allowed[state]).toContain(takeOverAction(facts).kind);
      }),
    );
  });

  it('a STALE command hands over the result its checkpoint holds; while the checkpoint still says RUNNING it looks again', () => {
    const failed = { ...checkpoint('FAILED'), exitCode: 2, outputTail: 'boom' };
    expect(takeOverAction({ command: command('STALE'), checkpoint: failed, now: after(1), defaultTimeoutSeconds: 1800 })).toEqual({
      kind: 'answer-stored',
      result: { step: 'upgrade', nodeId: 'dea-1', outcome: 'FAILED', exitCode: 2, details: {}, outputTail: 'boom', warnings: [], atTarget: false },
    });
    expect(takeOverAction({ command: command('STALE'), checkpoint: checkpoint('RUNNING'), now: after(1), defaultTimeoutSeconds: 1800 }).kind).toBe(
      'look-again',
    );
    expect(takeOverAction({ command: command('STALE'), checkpoint: null, now: after(1), defaultTimeoutSeconds: 1800 }).kind).toBe('look-again');
  });

  it('a command whose invocation ended is reconciled with that invocation, never re-pointed or cancelled, however late', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FINAL), fc.integer({ min: 0, max: 100_000 }), (status, elapsed) => {
        const seen = invocation(status);
        expect(takeOverAction({ command: command('PENDING', 60), invocation: seen, now: after(elapsed), defaultTimeoutSeconds: 1800 })).toEqual({
          kind: 'reconcile',
          invocation: seen,
        });
      }),
    );
  });

  it('a command still in progress is cancelled exactly when it is past the time after which nobody is left to report, else taken over', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3600 }), fc.boolean(), fc.integer({ min: 0, max: 10_000 }), (timeout, recorded, elapsed) => {
        const facts = {
          command: command('PENDING', recorded ? timeout : undefined),
          invocation: invocation('InProgress'),
          now: after(elapsed),
          defaultTimeoutSeconds: timeout,
        };
        expect(takeOverAction(facts).kind).toBe(elapsed >= unresponsiveAfterSeconds(timeout) ? 'cancel-unresponsive' : 'repoint');
      }),
    );
  });

  it("the timeout the command was given wins over the step's default", () => {
    const facts = { command: command('PENDING', 60), invocation: invocation('InProgress'), now: after(200), defaultTimeoutSeconds: 1800 };
    expect(takeOverAction(facts).kind).toBe('cancel-unresponsive');
    expect(takeOverAction({ ...facts, command: command('PENDING') }).kind).toBe('repoint');
  });

  it("an unresponsive node's step fails with no exit code, saying how long it waited and that the effect is unknown", () => {
    expect(unresponsiveInvocation(command('PENDING', 60), after(212.4))).toEqual({
      status: 'Unresponsive',
      exitCode: null,
      stdout: '',
      stderr:
        "no result from dea-1 212 s after upgrade started (timeout 60 s): the node went offline or its SSM agent stopped; the command was cancelled and the step's effect on the node is unknown",
    });
    expect(unresponsiveInvocation(command('PENDING'), after(1)).stderr).toContain('(timeout ? s)');
  });

  it('looks again after 100 ms, doubling to at most 2 s, and gives up within a minute', () => {
    expect([0, 1, 2, 3, 4, 5].map(takeOverBackoffMs)).toEqual([100, 200, 400, 800, 1600, 2000]);
    const total = Array.from({ length: TAKE_OVER_ROUNDS }, (_, round) => takeOverBackoffMs(round)).reduce((a, b) => a + b, 0);
    expect(total).toBeLessThan(60_000);
  });
});
