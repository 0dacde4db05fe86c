/**
 * The failure budget of an unattended run: with `onFailure: rollback-and-continue` a node whose window step
 * failed is rolled back and left at its old version (as the operator's `skip` does) without asking anyone,
 * until `maxFailedNodes` nodes failed; the next failure stops the run as `abort` does.
 */

/** What happens when a node's window step fails: ask the operator, or apply the budget. */
export const ON_FAILURE = ['ask', 'rollback-and-continue'] as const;
export type OnFailure = (typeof ON_FAILURE)[number];

/** Failed nodes rolled back without asking before the next one stops the run: one, so a second failure is always seen by a person. */
export const DEFAULT_MAX_FAILED_NODES = 1;

/**
 * What the policy decides for a failed node: `skip` (restore it and go on) within the budget, `abort` (the
 * run stops, the node needs attention) past it. `decidedBy` is what the summary and DynamoDB show.
 */
export interface PolicyDecision {
  decision: 'skip' | 'abort';
  decidedBy: string;
}

/**
 * `ordinal`: this node's place among the run's failed nodes (1 for the first), from an atomic counter, so
 * parallel nodes never share a place and the budget is exact.
 */
export function failurePolicy(maxFailedNodes: number, ordinal: number): PolicyDecision {
  if (!Number.isInteger(ordinal) || ordinal < 1) throw new RangeError(`a failed node's ordinal starts at 1, got ${ordinal}`);
  const policy = 'policy: onFailure=rollback-and-continue';
  if (ordinal <= maxFailedNodes) return { decision: 'skip', decidedBy: `${policy} (${ordinal} of ${maxFailedNodes} failures)` };
  return { decision: 'abort', decidedBy: `${policy} (failure ${ordinal}: the budget of ${maxFailedNodes} is spent)` };
}

/** A decision made by the policy, not by a person or the timeout (the summary and `status` say so). */
export function decidedByPolicy(decidedBy: string | undefined): boolean {
  return decidedBy?.startsWith('policy:') === true;
}
