import { WindowCutoff } from '../../core/errors.js';
import type { RunContext } from '../../core/run-context.js';
import { cutoffAnswer, nodeEstimateSeconds, windowEstimates } from '../../core/window.js';
import type { WindowStore } from '../../adapters/window-store.js';

/**
 * Before maintenance mode goes on: when even the first node to upgrade cannot finish before notAfter, the
 * window does not open (it would be switched on and off for nothing). The cutoff is recorded, as the gate
 * records it, so the run ends INCOMPLETE.
 */
export async function refuseWindowThatCannotFit(
  windows: WindowStore,
  run: RunContext,
  first: { id: string; roles: readonly string[] } | undefined,
  now: Date,
): Promise<void> {
  if (run.notAfter === undefined || first === undefined) return;
  const estimates = (await windows.getWindow(run.runId))?.estimates ?? windowEstimates([]);
  const answer = cutoffAnswer(run.notAfter, now, first.id, nodeEstimateSeconds(estimates, first.roles));
  if (answer.go) return;
  await windows.recordCutoff(run.runId, { nodeId: first.id, estimatedFinish: answer.estimatedFinish, reason: answer.reason, at: now.toISOString() });
  throw new WindowCutoff(answer.reason);
}
