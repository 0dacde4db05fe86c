import type { RunContext } from '../../core/run-context.js';
import { buildSummary, compactSummary, type CaughtError, type RunInfo, type Summary } from '../../core/summary.js';
import { FleetStore } from '../../adapters/store.js';
import { PauseStore } from '../../adapters/pause-store.js';
import { CanaryStore } from '../../adapters/canary-store.js';
import { HealthStore } from '../../adapters/health-store.js';
import { healthReport } from '../../core/health.js';
import { Table } from '../../adapters/table.js';
import { WindowStore } from '../../adapters/window-store.js';
import { nodeDurations, recordDurations } from '../../core/window.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';

export interface SummarizeEvent {
  run: RunContext;
  lock?: { released?: boolean };
  error?: CaughtError;
}

/** Builds the run's summary from DynamoDB (so both tell the same story) and records it on the run. */
export const handler = async (event: SummarizeEvent): Promise<Summary> => {
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const { run } = event;
  const recorded = await store.getRun(run.cluster, run.runId);
  // The run may have failed before it was planned: summarize what is known.
  const info: RunInfo = recorded ?? {
    runId: run.runId,
    cluster: run.cluster,
    targetVersion: run.targetVersion,
    coreNode: '',
    order: [],
    roles: {},
    plannedFrom: {},
    startedAt: run.startedAt,
  };
  const { checkpoints, outcomes, held } = await store.runRecords(run.runId);
  const finishedAt = new Date().toISOString();
  const pause = await new PauseStore(new Table(documentClient(), requireEnv('TABLE_NAME'))).settle(run.runId, finishedAt);
  const canary = run.canary > 0 ? await new CanaryStore(new Table(documentClient(), requireEnv('TABLE_NAME'))).get(run.runId) : null;
  // A health question still open when the run ends is closed (as abort: nobody can answer it any more).
  const healths = new HealthStore(new Table(documentClient(), requireEnv('TABLE_NAME')));
  if (run.healthAlarms !== undefined) await healths.close(run.runId, 'the run ended', finishedAt);
  const health = run.healthAlarms !== undefined ? healthReport(run.healthAlarms, await healths.get(run.runId)) : undefined;
  const stop = pause?.state === 'EXPIRED' || canary?.decision === 'abort' || health?.decision === 'abort' ? await store.runStopping(run.runId) : null;
  // A run with a cutoff: the node it refused, if any (the run then ends INCOMPLETE).
  const windows = new WindowStore(new Table(documentClient(), requireEnv('TABLE_NAME')));
  const cutoff = run.notAfter === undefined ? undefined : (await windows.getWindow(run.runId))?.cutoff;
  const summary = compactSummary(
    buildSummary({
      run: info,
      checkpoints,
      outcomes,
      held,
      ...(cutoff !== undefined ? { cutoff } : {}),
      lockReleased: event.lock?.released === true,
      ...(event.error ? { caught: event.error } : {}),
      ...(pause ? { pause } : {}),
      ...(canary
        ? {
            canary: {
              nodes: canary.nodes,
              ...(canary.decision ? { decision: canary.decision } : {}),
              ...(canary.decidedBy ? { decidedBy: canary.decidedBy } : {}),
              ...(canary.byTimeout !== undefined ? { byTimeout: canary.byTimeout } : {}),
            },
          }
        : {}),
      ...(health ? { health } : {}),
      ...(stop ? { stopReason: stop.reason } : {}),
      finishedAt,
    }),
  );
  if (recorded !== null) {
    // How long its nodes took, for the window estimates of the cluster's later runs.
    await windows.putDurations(run.runId, recordDurations(nodeDurations(checkpoints, info.roles)));
    await store.completeRun(summary);
  }
  logger.info('run summarized', { runId: run.runId, status: summary.status, counts: summary.counts });
  return summary;
};
