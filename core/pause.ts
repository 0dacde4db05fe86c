import type { GateAnswer } from './hold.js';
import { MAX_APPROVAL_TIMEOUT_MINUTES } from './execution-timeout.js';

/**
 * An operator's pause (`fleet-upgrade pause`): nodes in flight finish their current node, and no node starts
 * until `fleet-upgrade resume`. A pause has a limit (the input's `pauseLimitMinutes`): past it the run stops
 * as abort does (nodes not started end NOT_STARTED, maintenance mode off, the lock released).
 */

/** The state a node waits in while the run is paused (the console, `watch` and progress show it). */
export const PAUSED_STATE_NAME = 'Paused: waiting for fleet-upgrade resume';

/** What a node held by the pause records as what it waited for (node ids cannot hold parentheses). */
export const PAUSE_HOLDER = '(pause)';

/** A pause holds the run at most this long by default (input `pauseLimitMinutes`). */
export const DEFAULT_PAUSE_LIMIT_MINUTES = 1440;

/** The longest a paused node's waiting state waits before it asks the gate again (a lost release costs at most this). */
export const PAUSE_RECHECK_SECONDS = 3600;

/** An open pause of a run. */
export interface RunPause {
  pausedAt: string;
  pausedBy: string;
  reason?: string;
}

/** Where a run's pause stands at a moment. */
export type PauseCheck = { kind: 'none' } | { kind: 'paused'; until: string; recheckSeconds: number } | { kind: 'expired'; until: string; reason: string };

/** What "May this node start?" answers while the run is paused: wait in the paused state, at most `recheckSeconds`. */
export interface PausedAnswer {
  go: false;
  paused: true;
  until: string;
  pausedBy: string;
  recheckSeconds: number;
}

/** When a pause passes its limit. */
export function pauseUntil(pause: RunPause, limitSeconds: number): string {
  return new Date(Date.parse(pause.pausedAt) + limitSeconds * 1000).toISOString();
}

/**
 * An open pause holds until its limit; the paused state wakes at the limit (or every hour, whichever comes
 * first) so that the gate sees an expired pause without anyone polling.
 */
export function pauseCheck(pause: RunPause | null, limitSeconds: number, now: string): PauseCheck {
  if (pause === null) return { kind: 'none' };
  const until = pauseUntil(pause, limitSeconds);
  const left = (Date.parse(until) - Date.parse(now)) / 1000;
  if (left <= 0) {
    return {
      kind: 'expired',
      until,
      reason: `the run stopped: paused by ${pause.pausedBy} at ${pause.pausedAt} and not resumed within its limit (${formatLimit(limitSeconds)}, until ${until})`,
    };
  }
  return { kind: 'paused', until, recheckSeconds: Math.max(1, Math.min(PAUSE_RECHECK_SECONDS, Math.ceil(left))) };
}

/** The gate's answer with the pause applied: a node that could start waits instead; a stop or a question wins. */
export function pauseGate(answer: GateAnswer, check: PauseCheck, pausedBy = 'an operator'): GateAnswer | PausedAnswer {
  if (!answer.go || check.kind !== 'paused') return answer;
  return { go: false, paused: true, until: check.until, pausedBy, recheckSeconds: check.recheckSeconds };
}

/** A paused run keeps its held nodes waiting (unless it is stopping): releasing them would only make them wait again. */
export function pauseKeepsHeld(check: PauseCheck, stopping: boolean): boolean {
  return !stopping && check.kind === 'paused';
}

/** How progress lines and `watch` say that a node waits for the pause to end. */
export function pausedLine(until: string | undefined): string {
  return `PAUSED: waiting for fleet-upgrade resume${until ? ` (limit ${until})` : ''}`;
}

function formatLimit(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** A run's last pause as the summary reports it. */
export interface PauseReport {
  pausedBy: string;
  pausedAt: string;
  /** RESUMED, EXPIRED (the run stopped), or ENDED (the run ended while paused). */
  state: string;
  endedBy?: string;
  /** Seconds the run spent paused, all its pauses. */
  seconds: number;
}

/** The pause limit of a run's input (default applied), in seconds: the CLI reads it from the execution's input. */
export function pauseLimitSecondsOf(input: { pauseLimitMinutes?: unknown }): number {
  const minutes =
    typeof input.pauseLimitMinutes === 'number' && input.pauseLimitMinutes > 0
      ? Math.min(input.pauseLimitMinutes, MAX_APPROVAL_TIMEOUT_MINUTES)
      : DEFAULT_PAUSE_LIMIT_MINUTES;
  return Math.max(1, Math.round(minutes * 60));
}
