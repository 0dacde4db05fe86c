import { parseInput, type NodeSpec, type UpgradeInput } from '../../core/input-schema.js';
import type { StepId } from '../../core/steps.js';
import type { RunContext } from '../../core/run-context.js';
import { planUpgrade } from '../../core/plan.js';
import { NodeCheckFailed, PlanError } from '../../core/errors.js';
import { isValidVersion } from '../../core/version.js';
import { checkPhasePlan, resumedItem, stateMachineGroups, type Interrupted, type PlanOutput } from '../../core/state-plan.js';
import { InputValidationError } from '../../core/errors.js';
import { refuseOversizedRun } from '../../core/capacity.js';
import { FleetStore } from '../../adapters/store.js';
import { Table } from '../../adapters/table.js';
import { WindowStore } from '../../adapters/window-store.js';
import { estimatesFrom } from '../../core/window.js';
import { refuseWindowThatCannotFit } from './window-fits.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { clusterMembers, discoverNodes } from '../../adapters/discovery.js';
import { refuseForeignNodes } from '../../core/cluster-membership.js';
import { mayBeSentCommands } from '../../core/node-selection.js';

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
   * `decide`: after every node's version check, decide from the versions the nodes reported which nodes
   * the maintenance window upgrades; record the others as skipped.
   */
  phase?: 'plan' | 'decide';
}

async function decide(event: PlanEvent, store: FleetStore): Promise<PlanOutput> {
  const { run } = event;
  const recorded = await store.getRun(run.cluster, run.runId);
  if (recorded === null) throw new PlanError(`run ${run.runId} has no plan recorded; it cannot decide which nodes to upgrade`);
  // The whole cluster as planned (with the nodes `only` left out): the core node and minHealthy's totals come from it.
  const nodes: NodeSpec[] = Object.entries(recorded.roles).map(([id, roles]) => ({ id, roles }));
  const observed = new Map<string, string>();
  // Once per run, before the window: every node's outcome (failed checks) and checkpoints (versions reported).
  const [outcomes, checkpoints] = await Promise.all([store.runOutcomes(run.runId), store.runCheckpoints(run.runId)]);
  const failed = outcomes.filter((o) => o.status === 'FAILED');
  if (failed.length > 0) {
    const list = failed.map((o) => `${o.nodeId} (${o.failedStep ?? 'a step'} failed)`).join(', ');
    throw new NodeCheckFailed(`${failed.length} node${failed.length > 1 ? 's' : ''} failed before the maintenance window, nothing was changed: ${list}`);
  }
  for (const c of checkpoints) {
    const version = c.details?.version;
    if (c.step === 'version-check' && typeof version === 'string' && isValidVersion(version)) observed.set(c.nodeId, version);
  }
  const unchecked = recorded.order.filter((id) => !observed.has(id));
  if (unchecked.length > 0) throw new PlanError(`no version reported by ${unchecked.join(', ')}; every node is checked before the window opens`);
  const plan = planUpgrade({ ...event.input, nodes }, nodes, observed);
  const resumeAt = event.input.resumeFrom === undefined ? new Map<string, Interrupted>() : await interruptedNodes(store, run.cluster, event.input.resumeFrom);
  for (const group of plan.groups) {
    for (const node of group.nodes) {
      // Switched to the new release by the earlier run but never validated (or left drained): not "already at
      // target": restarted and validated, never skipped.
      const resumed = resumeAt.get(node.id);
      if (resumed === undefined || node.action !== 'skip') continue;
      Object.assign(node, { action: 'upgrade', reason: `resumed from run ${String(event.input.resumeFrom)} at its restart (upgraded, never validated)` });
      resumeAt.set(node.id, { ...resumed, step: 'restart' });
    }
  }
  plan.upgradeCount = plan.groups.reduce((sum, g) => sum + g.nodes.filter((n) => n.action === 'upgrade').length, 0);
  plan.skipCount = plan.order.length - plan.upgradeCount;
  const skipped = plan.groups.flatMap((g) => g.nodes.filter((n) => n.action === 'skip'));
  const at = new Date().toISOString();
  for (const node of skipped) {
    await store.recordOutcome(run.cluster, run.runId, node.roles, {
      nodeId: node.id,
      status: 'SKIPPED',
      from: node.from,
      to: node.from,
      reason: node.reason,
      at,
    });
  }
  logger.info('nodes to upgrade decided', { runId: run.runId, upgrade: plan.upgradeCount, skip: plan.skipCount });
  const skippedIds = new Set(skipped.map((n) => n.id));
  const first = plan.groups.flatMap((g) => g.nodes).find((n) => !skippedIds.has(n.id));
  await refuseWindowThatCannotFit(new WindowStore(new Table(documentClient(), requireEnv('TABLE_NAME'))), run, first, new Date());
  return {
    coreNode: plan.coreNode,
    upgradeCount: plan.upgradeCount,
    skipCount: plan.skipCount,
    groups: stateMachineGroups(plan, (id) => !skippedIds.has(id)).map((g) => ({
      ...g,
      // The version it ran before the earlier run switched it: its record's "from", not today's version check.
      nodes: g.nodes.map((n) => resumedItem(n, resumeAt.get(n.id))),
    })),
    // A sample for the console; every skipped node and why is recorded in DynamoDB.
    skipped: skipped.slice(0, 20).map((n) => ({ id: n.id, reason: n.reason })),
  };
}

/**
 * Nodes an earlier run left mid-window (interrupted, aborted, stopped) resume from the step their checkpoints
 * say is safe. Upgraded but never validated: they run the new release, so they restart from `restart` — never
 * from backup, which would back up the new release as the old one. Retired (drained) but not switched: they
 * still run the old release, drained, so pre-upgrade validation would fail and retire repeat; they go on from
 * `backup` (backups are kept per run: this run's upgrade and rollback need their own). Nodes the earlier run
 * upgraded, rolled back or never changed need nothing special: the version check decides for them.
 */
export async function interruptedNodes(store: FleetStore, cluster: string, previousRunId: string): Promise<Map<string, Interrupted>> {
  const previous = await store.getRun(cluster, previousRunId);
  if (previous === null) throw new InputValidationError(`resumeFrom: run ${previousRunId} of cluster ${cluster} was not found`, 'resumeFrom');
  if (previous.status === 'RUNNING')
    throw new InputValidationError(`resumeFrom: run ${previousRunId} is still running; resume a run that stopped`, 'resumeFrom');
  const [checkpoints, outcomes] = await Promise.all([store.runCheckpoints(previousRunId), store.runOutcomes(previousRunId)]);
  // One pass over each list (a run may hold thousands of nodes and tens of thousands of checkpoints).
  const settled = new Set(outcomes.filter((o) => o.status === 'UPGRADED' || o.status === 'ROLLED_BACK' || o.status === 'SKIPPED').map((o) => o.nodeId));
  const succeeded = (step: StepId) => new Set(checkpoints.filter((c) => c.step === step && c.status === 'SUCCEEDED').map((c) => c.nodeId));
  const [switched, retired, rolledBack] = [succeeded('upgrade'), succeeded('retire'), succeeded('rollback')];
  const fromOf = new Map(outcomes.map((o) => [o.nodeId, o.from]));
  const resumeStep = (id: string): StepId | undefined => {
    // Rolled back (by the run or by its cleanup): back at its old release and in service; the version check decides.
    if (settled.has(id) || rolledBack.has(id)) return undefined;
    if (switched.has(id)) return 'restart';
    return retired.has(id) ? 'backup' : undefined;
  };
  const resumed = new Map<string, Interrupted>();
  for (const id of previous.order) {
    const step = resumeStep(id);
    if (step !== undefined) resumed.set(id, { step, from: fromOf.get(id) ?? previous.plannedFrom[id] ?? null });
  }
  return resumed;
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
  if (event.phase === 'decide') return decide(event, store);
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
  const resumed = event.input.resumeFrom === undefined ? undefined : await interruptedNodes(store, event.run.cluster, event.input.resumeFrom);
  refuseOversizedRun(event.input, event.run, plan, { ...listedIn, ...(resumed === undefined ? {} : { resumed }) });
  // Only the cluster's own nodes, under its lock: a foreign listed node is bad input, refused before anything is recorded or checked.
  await refuseListedForeignNodes(event.run.cluster, listed);
  await store.putRun({
    runId: event.run.runId,
    cluster: event.run.cluster,
    targetVersion: event.run.targetVersion,
    coreNode: plan.coreNode,
    order: plan.order,
    roles: Object.fromEntries(nodes.map((n) => [n.id, n.roles])),
    plannedFrom: Object.fromEntries(plan.groups.flatMap((g) => g.nodes.map((n) => [n.id, n.from]))),
    startedAt: event.run.startedAt,
    ...(event.input.prepareOnly ? { prepareOnly: true } : {}),
    ...(plan.notInRun?.length ? { notInRun: plan.notInRun } : {}),
  });
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
