import { parseInput, type NodeSpec, type UpgradeInput } from '../../core/input-schema.js';
import type { RunContext } from '../../core/run-context.js';
import { plannedRun, planUpgrade } from '../../core/plan.js';
import { checkPhasePlan, stateMachineGroups, type PlanOutput } from '../../core/state-plan.js';
import { refuseOversizedRun } from '../../core/capacity.js';
import { refuseForeignNodes } from '../../core/cluster-membership.js';
import { mayBeSentCommands } from '../../core/node-selection.js';
import { estimatesFrom } from '../../core/window.js';
import { FleetStore } from '../../adapters/store.js';
import { Table } from '../../adapters/table.js';
import { WindowStore } from '../../adapters/window-store.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { clusterMembers, discoverNodes } from '../../adapters/discovery.js';
import { decideNodesToUpgrade } from './decide.js';
import { readInterruptedNodes } from './resume.js';

export interface PlanEvent {
  /** The validated input, without `nodes` (kept out of the state data). */
  input: UpgradeInput;
  /** The raw execution input: where the node list, if any, is read from. */
  executionInput?: unknown;
  run: RunContext;
  /** A dry run returns the full plan and records nothing. */
  dryRun?: boolean;
  /**
   * `plan` (default): find the nodes, order them, record the run.
   * `decide`: after every node's version check, decide from the versions the nodes reported which nodes the
   * maintenance window upgrades; record the others as skipped (decide.ts).
   */
  phase?: 'plan' | 'decide';
}

/** Listed nodes must carry the cluster's tag (discovered ones do by construction). */
async function refuseListedForeignNodes(cluster: string, listed: readonly NodeSpec[] | undefined): Promise<void> {
  if (listed === undefined) return;
  refuseForeignNodes(
    cluster,
    listed.map((n) => n.id),
    new Set((await clusterMembers(cluster)).keys()),
  );
}

export const handler = async (event: PlanEvent): Promise<PlanOutput> => {
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  if (event.phase === 'decide') return decideNodesToUpgrade(event.input, event.run, store);
  const listed = event.input.nodes ?? (event.executionInput === undefined ? undefined : parseInput(event.executionInput).nodes);
  const nodes = listed ?? (await discoverNodes(event.run.cluster, undefined, mayBeSentCommands(event.input)));
  const plan = planUpgrade(event.input, nodes, await store.knownVersions(event.run.cluster));
  // Past Step Functions' 256 KiB per state the run would fail mid-way, past any Catch: refused before anything is recorded.
  const listedIn = { listed: listed !== undefined };
  if (event.dryRun === true) {
    refuseOversizedRun(event.input, event.run, plan, listedIn);
    await refuseListedForeignNodes(event.run.cluster, listed);
    return { ...checkPhasePlan(plan), groups: stateMachineGroups(plan), plan };
  }
  // A run to resume must exist and have stopped: refused before anything is recorded or checked.
  const resumed = event.input.resumeFrom === undefined ? undefined : await readInterruptedNodes(store, event.run.cluster, event.input.resumeFrom);
  refuseOversizedRun(event.input, event.run, plan, { ...listedIn, ...(resumed === undefined ? {} : { resumed }) });
  // Only the cluster's own nodes, under its lock: a foreign listed node is bad input, refused before anything is recorded or checked.
  await refuseListedForeignNodes(event.run.cluster, listed);
  await store.putRun(plannedRun(event.run, event.input, plan, nodes));
  if (event.run.notAfter !== undefined) {
    // The gate judges every node against the cutoff by these: estimated once, from the cluster's recent runs.
    const windows = new WindowStore(new Table(documentClient(), requireEnv('TABLE_NAME')));
    const estimates = estimatesFrom(await windows.recentDurations(event.run.cluster, event.run.runId));
    await windows.putWindow(event.run.runId, { notAfter: event.run.notAfter, estimates });
    logger.info('window estimated', { runId: event.run.runId, notAfter: event.run.notAfter, ...estimates });
  }
  logger.info('upgrade planned', { runId: event.run.runId, order: plan.order, coreNode: plan.coreNode });
  // Groups are decided after every node reported its version; until then the ids are all the state needs.
  return checkPhasePlan(plan);
};
