import { PlanError } from '../../core/errors.js';
import type { UpgradeInput } from '../../core/input-schema.js';
import { decideWindow, reportedVersions, windowPlan } from '../../core/nodes-to-upgrade.js';
import type { RunContext } from '../../core/run-context.js';
import type { PlanOutput } from '../../core/state-plan.js';
import type { FleetStore } from '../../adapters/store.js';
import { Table } from '../../adapters/table.js';
import { WindowStore } from '../../adapters/window-store.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { readInterruptedNodes } from './resume.js';
import { refuseWindowThatCannotFit } from './window-fits.js';

/**
 * The decide phase: after every node's version check, which nodes the window upgrades (core/nodes-to-upgrade.ts
 * decides from the versions the nodes reported); the others are recorded as skipped.
 */
export async function decideNodesToUpgrade(input: UpgradeInput, run: RunContext, store: FleetStore): Promise<PlanOutput> {
  const recorded = await store.getRun(run.cluster, run.runId);
  if (recorded === null) throw new PlanError(`run ${run.runId} has no plan recorded; it cannot decide which nodes to upgrade`);
  // Once per run, before the window: every node's outcome (failed checks) and checkpoints (versions reported).
  const [outcomes, checkpoints] = await Promise.all([store.runOutcomes(run.runId), store.runCheckpoints(run.runId)]);
  const plan = windowPlan(input, recorded.roles, reportedVersions(recorded.order, outcomes, checkpoints));
  const resume =
    input.resumeFrom === undefined ? undefined : { runId: input.resumeFrom, nodes: await readInterruptedNodes(store, run.cluster, input.resumeFrom) };
  const decision = decideWindow(plan, resume, new Date().toISOString());
  for (const { roles, outcome } of decision.skipped) await store.recordOutcome(run.cluster, run.runId, roles, outcome);
  logger.info('nodes to upgrade decided', { runId: run.runId, upgrade: decision.output.upgradeCount, skip: decision.output.skipCount });
  await refuseWindowThatCannotFit(new WindowStore(new Table(documentClient(), requireEnv('TABLE_NAME'))), run, decision.first, new Date());
  return decision.output;
}
