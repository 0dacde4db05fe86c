import type { RunContext } from '../../core/run-context.js';
import { cutoffAnswer, nodeEstimateSeconds, windowEstimates } from '../../core/window.js';
import type { FleetStore } from '../../adapters/store.js';
import type { WindowStore } from '../../adapters/window-store.js';
import { logger } from '../../adapters/logger.js';

/**
 * The window cutoff at "May this node start?": a node estimated to finish after `notAfter` does not start,
 * and the run stops (nodes in flight finish; it ends INCOMPLETE). Null when the node may start.
 */
export async function refusedByCutoff(
  store: FleetStore,
  windows: WindowStore,
  run: RunContext,
  nodeId: string,
  now: Date,
): Promise<{ go: false; reason: string } | null> {
  if (run.notAfter === undefined) return null;
  const [window, roles] = await Promise.all([windows.getWindow(run.runId), store.plannedRoles(run.runId, nodeId)]);
  // No estimates recorded (the plan's write was lost): the defaults, as before any run.
  const estimates = window?.estimates ?? windowEstimates([]);
  const answer = cutoffAnswer(run.notAfter, now, nodeId, nodeEstimateSeconds(estimates, roles ?? []));
  if (answer.go) return null;
  const at = now.toISOString();
  await windows.recordCutoff(run.runId, { nodeId, estimatedFinish: answer.estimatedFinish, reason: answer.reason, at });
  await store.markRunStopping(run.runId, answer.reason, at);
  logger.info('node not started: window cutoff', { runId: run.runId, nodeId, notAfter: run.notAfter, estimatedFinish: answer.estimatedFinish });
  return { go: false, reason: answer.reason };
}
