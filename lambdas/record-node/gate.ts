import type { GateAnswer } from '../../core/hold.js';
import type { HealthAskAnswer } from '../../core/health.js';
import type { PausedAnswer } from '../../core/pause.js';
import type { RunContext } from '../../core/run-context.js';
import { DEFAULT_LOCK_TTL_SECONDS } from '../../core/execution-timeout.js';
import type { FleetStore } from '../../adapters/store.js';
import { Table } from '../../adapters/table.js';
import { WindowStore } from '../../adapters/window-store.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { refusedByCutoff } from './cutoff.js';
import type { RunHolds } from './run-holds.js';

/** "May this node start?": the run's holds decide (run-holds.ts), then the window cutoff; a node that may start is marked started. */
export async function gate(store: FleetStore, holds: RunHolds, run: RunContext, nodeId: string): Promise<GateAnswer | PausedAnswer | HealthAskAnswer> {
  const { runId } = run;
  // Every node that starts renews the run's hold on the cluster lock; a run that lost it stops here.
  const renewed = await store.renewLock(run.cluster, runId, new Date(), Number(process.env.LOCK_TTL_SECONDS ?? DEFAULT_LOCK_TTL_SECONDS));
  if (!renewed) {
    await store.markRunStopping(
      runId,
      `the cluster lock of ${run.cluster} is no longer held by this run (it was broken with unlock); no further node starts`,
      new Date().toISOString(),
    );
  }
  const held = await holds.gate(nodeId);
  // A node that may start must also fit before the window cutoff, if the run has one.
  const windows = new WindowStore(new Table(documentClient(), requireEnv('TABLE_NAME')));
  const answer = held.go ? ((await refusedByCutoff(store, windows, run, nodeId, new Date())) ?? held) : held;
  if (answer.go) await store.markStarted(runId, nodeId, new Date().toISOString());
  if ('held' in answer) logger.info('node held: waiting for a decision', { runId, nodeId, waitingFor: answer.waitingFor });
  if ('paused' in answer) logger.info('node held: the run is paused', { runId, nodeId, until: answer.until });
  return answer;
}
