import { interruptedNodes, resumableRun } from '../../core/resume.js';
import type { Interrupted } from '../../core/state-plan.js';
import type { FleetStore } from '../../adapters/store.js';

/** Reads the run named by `resumeFrom` and where each node it left mid-window resumes (core/resume.ts decides). */
export async function readInterruptedNodes(store: FleetStore, cluster: string, previousRunId: string): Promise<Map<string, Interrupted>> {
  const previous = resumableRun(cluster, previousRunId, await store.getRun(cluster, previousRunId));
  const [checkpoints, outcomes] = await Promise.all([store.runCheckpoints(previousRunId), store.runOutcomes(previousRunId)]);
  return interruptedNodes(previous, checkpoints, outcomes);
}
