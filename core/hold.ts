/**
 * A failed node holds the run: from the moment the operator is asked about it until its outcome is
 * recorded, no node that has not started may start. Nodes in flight finish their current node.
 */

/** The state a node waits in while a failed node's question is open (the console, `watch` and progress show it). */
export const HELD_STATE_NAME = 'Held: waiting for a decision on another node';

/** How progress lines and `watch` say that a node is held. */
export function heldLine(waitingFor: readonly string[] | undefined): string {
  return `held: waiting for a decision on ${waitingFor?.length ? waitingFor.join(', ') : 'another node'}`;
}

/** An open question (a node whose step failed and whose decision is not yet applied). */
export interface OpenHold {
  nodeId: string;
}

/** What "May this node start?" answers. `held`: wait (with a task token) until every open question is answered. */
export type GateAnswer = { go: true } | { go: false; reason: string } | { go: false; held: true; waitingFor: string[] };

/** A stopping run starts nothing; otherwise an open question holds the node; otherwise it starts. */
export function gateAnswer(stop: { reason: string } | null, holds: readonly OpenHold[]): GateAnswer {
  if (stop !== null) return { go: false, reason: stop.reason };
  if (holds.length > 0) return { go: false, held: true, waitingFor: holds.map((h) => h.nodeId).sort() };
  return { go: true };
}

/** Held nodes go back to the gate once no question is open, or once the run stops (they then end not started). */
export function releasesHeldNodes(stop: { reason: string } | null, holds: readonly OpenHold[]): boolean {
  return stop !== null || holds.length === 0;
}

/** A held node as the summary reports it. */
export interface HeldReport {
  nodeId: string;
  /** Seconds it waited for decisions (all its waits; one still open counts up to `now`). */
  seconds: number;
  /** The failed nodes whose decisions it waited for. */
  waitedFor: string[];
}

export function heldReport(held: { nodeId: string; heldMs: number; since?: string; waitedFor: string[] }, now: string): HeldReport {
  const open = held.since === undefined ? 0 : Math.max(0, Date.parse(now) - Date.parse(held.since));
  return { nodeId: held.nodeId, seconds: Math.round((held.heldMs + open) / 100) / 10, waitedFor: held.waitedFor };
}
