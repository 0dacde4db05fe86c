import type { EarlierAttempt, StepCheckpoint } from './summary.js';

/**
 * What run-step does about the checkpoint an earlier attempt of the same step left: a step task is retried
 * (the task timed out, the invocation failed, the operator chose retry), and the node must never run a step
 * twice because of it. The decision comes in stages, each asking for one more read:
 *
 *   attemptAction(previous) ─┬─ send
 *                            ├─ run-again
 *                            ├─ look-up-command ─► recordedCommandAction(command) ─► take-over | run-again
 *                            └─ find-sent ───────► sentCommandAction(recorded), per command SSM lists
 *                                                  ─► skip | point-checkpoint | record-command (then take-over);
 *                                                     none left: run-again
 *
 * take-over: this attempt is served from the earlier attempt's command (core/take-over.ts says how).
 * run-again: a fresh RUNNING checkpoint that keeps the earlier failure (retryCheckpoint), then send.
 */
export type AttemptAction =
  /** No earlier attempt: the RUNNING checkpoint is written already; send the step. */
  | { kind: 'send' }
  /** Run the step again: the earlier attempt finished, or its command's result was taken by a task. */
  | { kind: 'run-again' }
  /** The earlier attempt recorded its command: that command's state decides. */
  | { kind: 'look-up-command'; commandId: string }
  /** The earlier attempt stopped after its RUNNING checkpoint but before it recorded its command: its SendCommand may have gone through since `since`. */
  | { kind: 'find-sent'; since: string };

/** The first decision, on what startCheckpoint found (null: nothing, this attempt's checkpoint is written). */
export function attemptAction(previous: StepCheckpoint | null): AttemptAction {
  if (previous === null) return { kind: 'send' };
  if (previous.commandId !== undefined) return { kind: 'look-up-command', commandId: previous.commandId };
  // RUNNING: it crashed or timed out before recording its command. FAILED: the approval evidence marked it
  // so since, and the operator's retry comes here too.
  if (previous.status === 'RUNNING' || previous.status === 'FAILED') return { kind: 'find-sent', since: previous.startedAt };
  return { kind: 'run-again' };
}

/** The earlier attempt's recorded command (null: its record is gone): taken over unless a task already took its result. */
export function recordedCommandAction<C extends { state: string }>(command: C | null): { kind: 'take-over'; command: C } | { kind: 'run-again' } {
  // ANSWERED: the operator's retry, a new attempt: run the step again.
  return command !== null && command.state !== 'ANSWERED' ? { kind: 'take-over', command } : { kind: 'run-again' };
}

/** What to do with a command SSM lists as sent for this step since the earlier attempt's checkpoint. */
export type SentCommandAction<C> =
  /** A task took its result: it belongs to an attempt before the operator's retry. */
  | { kind: 'skip' }
  /** Recorded, but the checkpoint does not point at it: point it there, then take it over. */
  | { kind: 'point-checkpoint'; command: C }
  /** Sent but never recorded: record it (with this attempt's task token), then take it over. */
  | { kind: 'record-command' };

/** A command SSM lists (null: not recorded): skipped when a task took its result, else taken over. */
export function sentCommandAction<C extends { state: string }>(recorded: C | null): SentCommandAction<C> {
  if (recorded === null) return { kind: 'record-command' };
  return recorded.state === 'ANSWERED' ? { kind: 'skip' } : { kind: 'point-checkpoint', command: recorded };
}

/** How many failed attempts a checkpoint keeps, and how much of each one's output: the item stays far below DynamoDB's 400 KB however often a step is retried. */
export const EARLIER_ATTEMPTS_KEPT = 10;
export const EARLIER_OUTPUT_TAIL_CHARS = 500;

/** The failures on record once `previous` is overwritten: its own list, plus itself when it failed, the last ten. */
export function earlierAttempts(previous: StepCheckpoint): EarlierAttempt[] {
  const failed: EarlierAttempt[] =
    previous.status === 'FAILED'
      ? [
          {
            exitCode: previous.exitCode,
            outputTail: (previous.outputTail ?? '').slice(-EARLIER_OUTPUT_TAIL_CHARS),
            ...(previous.finishedAt ? { finishedAt: previous.finishedAt } : {}),
          },
        ]
      : [];
  return [...(previous.earlierAttempts ?? []), ...failed].slice(-EARLIER_ATTEMPTS_KEPT);
}

/** The RUNNING checkpoint a step run again starts with: the failure stays on record beside the new attempt. */
export function retryCheckpoint(previous: StepCheckpoint, startedAt: string): StepCheckpoint {
  const attempts = earlierAttempts(previous);
  return {
    nodeId: previous.nodeId,
    step: previous.step,
    status: 'RUNNING',
    exitCode: null,
    warnings: [],
    startedAt,
    ...(attempts.length > 0 ? { earlierAttempts: attempts } : {}),
  };
}
