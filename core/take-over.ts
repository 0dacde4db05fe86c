import { isFinalCommandStatus, type CommandInvocation } from './command-status.js';
import { resultFromCheckpoint, type StepResult } from './step-result.js';
import { unresponsiveAfterSeconds, type StepId } from './steps.js';
import type { StepCheckpoint } from './summary.js';

/** The facts of a recorded command a take-over reads (DynamoDB `COMMAND#id`). */
export interface TakenCommand {
  /** PENDING, ANSWERING, ANSWERED or STALE (adapters/command-store.ts draws how it moves). */
  state: string;
  nodeId: string;
  step: StepId;
  sentAt: string;
  timeoutSeconds?: number;
}

/** What a take-over must read before it can decide: the checkpoint (a STALE command's result) or the invocation (a PENDING one's progress). */
export function takeOverReads(state: string): 'checkpoint' | 'invocation' | 'nothing' {
  if (state === 'STALE') return 'checkpoint';
  if (state === 'PENDING') return 'invocation';
  return 'nothing';
}

/** How a retried step is served from the command an earlier attempt started. */
export type TakeOverAction =
  /** The command's record is gone: nothing can be taken over. */
  | { kind: 'give-up' }
  /** Answered meanwhile, to a task that still waited: nothing is left for this attempt. */
  | { kind: 'answered-meanwhile' }
  /** It ended and its result reached a task that no longer waited: hand that result to this one. */
  | { kind: 'answer-stored'; result: StepResult }
  /** It ended but its status event never came (or comes late): claim it and complete it with what GetCommandInvocation said. */
  | { kind: 'reconcile'; invocation: CommandInvocation }
  /** Still "in progress" long after SSM should have stopped it: claim it, cancel it, fail the step (unresponsiveInvocation). */
  | { kind: 'cancel-unresponsive' }
  /** Still running on the node: point it at this attempt's task token, so that its completion answers this attempt. */
  | { kind: 'repoint' }
  /** Someone is answering it right now (ANSWERING), or its result is not stored yet: look again shortly. */
  | { kind: 'look-again' };

/** What a take-over knows in one round: the command (null: gone), and what takeOverReads asked for. */
export interface TakeOverFacts {
  command: TakenCommand | null;
  checkpoint?: StepCheckpoint | null;
  invocation?: CommandInvocation;
  now: Date;
  /** The step's timeout when the command does not record the one it was given. */
  defaultTimeoutSeconds: number;
}

export function takeOverAction({ command, checkpoint, invocation, now, defaultTimeoutSeconds }: TakeOverFacts): TakeOverAction {
  if (command === null) return { kind: 'give-up' };
  if (command.state === 'ANSWERED') return { kind: 'answered-meanwhile' };
  if (command.state === 'STALE') {
    return checkpoint != null && checkpoint.status !== 'RUNNING' ? { kind: 'answer-stored', result: resultFromCheckpoint(checkpoint) } : { kind: 'look-again' };
  }
  if (command.state !== 'PENDING' || invocation === undefined) return { kind: 'look-again' };
  if (isFinalCommandStatus(invocation.status)) return { kind: 'reconcile', invocation };
  const timeout = command.timeoutSeconds ?? defaultTimeoutSeconds;
  if (now.getTime() - Date.parse(command.sentAt) >= unresponsiveAfterSeconds(timeout) * 1000) return { kind: 'cancel-unresponsive' };
  return { kind: 'repoint' };
}

/** The invocation an unresponsive node's step is completed with: no exit code, and an error that says what is known. */
export function unresponsiveInvocation(command: TakenCommand, now: Date): CommandInvocation {
  const seconds = Math.round((now.getTime() - Date.parse(command.sentAt)) / 1000);
  return {
    status: 'Unresponsive',
    exitCode: null,
    stdout: '',
    stderr:
      `no result from ${command.nodeId} ${seconds} s after ${command.step} started (timeout ${command.timeoutSeconds ?? '?'} s): ` +
      "the node went offline or its SSM agent stopped; the command was cancelled and the step's effect on the node is unknown",
  };
}

/** Rounds a take-over looks before it gives the step back to Step Functions' retry, and the wait before each next look (100 ms doubling to 2 s). */
export const TAKE_OVER_ROUNDS = 20;
export function takeOverBackoffMs(round: number): number {
  return Math.min(2_000, 100 * 2 ** round);
}
