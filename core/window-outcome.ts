import type { NodeStatus } from './node-status.js';

/** The node the window cutoff refused first, and why: what the summary reports for an INCOMPLETE run. */
export interface WindowCutoff {
  nodeId: string;
  estimatedFinish: string;
  reason: string;
  at: string;
}

/** Node statuses an INCOMPLETE run may hold: the cutoff left nodes unstarted, and nothing else went wrong. */
const SETTLED: readonly (NodeStatus | undefined)[] = ['UPGRADED', 'SKIPPED', 'ROLLED_BACK', 'NOT_STARTED'];

/**
 * INCOMPLETE when the cutoff refused a node and every node is settled (rolled back only by a skip decision,
 * the operator's or the failure budget's); otherwise the run's other statuses apply (null).
 */
export function cutoffStatus(cutoff: WindowCutoff | undefined, statuses: readonly (NodeStatus | undefined)[], skippedOnly: boolean): 'INCOMPLETE' | null {
  if (cutoff === undefined || !skippedOnly) return null;
  return statuses.every((s) => SETTLED.includes(s)) ? 'INCOMPLETE' : null;
}
