import { failedStep } from '../../core/approval-evidence.js';
import type { RunContext } from '../../core/run-context.js';
import type { CaughtError, StepCheckpoint } from '../../core/summary.js';
import type { FleetStore } from '../../adapters/store.js';

/** The checkpoint of the window step that failed on the node (core/approval-evidence.ts decides), recorded when the step never reported. */
export async function failedCheckpoint(
  store: FleetStore,
  event: { run: RunContext; node: { id: string }; failedStep?: string; error?: CaughtError },
  mine: readonly StepCheckpoint[],
  now: Date,
): Promise<StepCheckpoint | undefined> {
  const failed = failedStep(mine, { nodeId: event.node.id, failedStep: event.failedStep, error: event.error }, now.toISOString());
  if (failed.record) await store.putCheckpoint(event.run.runId, failed.checkpoint);
  return failed.checkpoint;
}
