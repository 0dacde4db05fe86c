/**
 * Canary, then widen (input `canary`, `--canary N`): the first N nodes of the run to start (in run order) are
 * upgraded; then the run waits for a decision `continue` or `abort` before any other node starts. `abort`
 * stops the run as abort does: the canary nodes stay at the target, nothing else changes.
 */

/** What an operator can decide once the canary nodes are upgraded. */
export const CANARY_DECISIONS = ['continue', 'abort'] as const;
export type CanaryDecision = (typeof CANARY_DECISIONS)[number];

export function isCanaryDecision(value: unknown): value is CanaryDecision {
  return typeof value === 'string' && (CANARY_DECISIONS as readonly string[]).includes(value);
}

/** What each canary decision does, as the approval page, the email and the CLI explain it. */
export const CANARY_DECISION_HELP: Record<CanaryDecision, string> = {
  continue: 'Go on: the other nodes upgrade as planned.',
  abort:
    'Stop the run here: the canary nodes stay at the target version, no other node is touched; maintenance mode goes off and the lock is released (the run ends ABORTED).',
};

/** The run's canary as recorded (`RUN#id` / `CANARY`): which nodes took a canary slot, which finished, the decision. */
export interface CanaryState {
  nodes: string[];
  done: string[];
  decision?: CanaryDecision;
}

/** What the gate does about the canary for a node that could otherwise start. */
export type CanaryGate = { kind: 'go' } | { kind: 'claim' } | { kind: 'held'; waitingFor: string[] };

/**
 * No canary, a decided one, or a node that holds a canary slot: go. A free slot: claim it (a conditional write,
 * so that parallel nodes never take more than `size`). Every slot taken and no decision yet: held.
 */
export function canaryGate(size: number, state: CanaryState | null, nodeId: string): CanaryGate {
  if (size <= 0 || state?.decision !== undefined) return { kind: 'go' };
  const nodes = state?.nodes ?? [];
  if (nodes.includes(nodeId)) return { kind: 'go' };
  if (nodes.length < size) return { kind: 'claim' };
  return { kind: 'held', waitingFor: [...nodes].sort() };
}

/** Held nodes stay held while the canary is full and undecided: releasing them would only make them wait again. */
export function canaryKeepsHeld(size: number, state: CanaryState | null, stopping: boolean): boolean {
  return !stopping && size > 0 && state !== null && state.decision === undefined && state.nodes.length >= size;
}

/** A canary node finished: the canary is complete (time to ask) when every slot is taken and every one of them done. */
export function canaryComplete(size: number, state: CanaryState): boolean {
  return size > 0 && state.nodes.length >= size && state.nodes.every((n) => state.done.includes(n));
}

/** The canary as the summary reports it. */
export interface CanaryReport {
  nodes: string[];
  decision?: CanaryDecision;
  decidedBy?: string;
  byTimeout?: boolean;
}
