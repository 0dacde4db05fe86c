import { NodeCheckFailed, PlanError } from './errors.js';
import type { NodeSpec, UpgradeInput } from './input-schema.js';
import { planUpgrade, type PlannedNode, type UpgradePlan } from './plan.js';
import { resumedItem, stateMachineGroups, type Interrupted, type PlanOutput } from './state-plan.js';
import type { NodeOutcome, RunInfo, StepCheckpoint } from './summary.js';
import { isValidVersion } from './version.js';

/**
 * The version each node of the run reported at its version check. A node that failed a check before the window
 * stops the run with nothing changed; a node that reported no version is a plan error (every node is checked first).
 */
export function reportedVersions(order: readonly string[], outcomes: readonly NodeOutcome[], checkpoints: readonly StepCheckpoint[]): Map<string, string> {
  const failed = outcomes.filter((o) => o.status === 'FAILED');
  if (failed.length > 0) {
    const list = failed.map((o) => `${o.nodeId} (${o.failedStep ?? 'a step'} failed)`).join(', ');
    throw new NodeCheckFailed(`${failed.length} node${failed.length > 1 ? 's' : ''} failed before the maintenance window, nothing was changed: ${list}`);
  }
  const observed = new Map<string, string>();
  for (const c of checkpoints) {
    const version = c.details?.version;
    if (c.step === 'version-check' && typeof version === 'string' && isValidVersion(version)) observed.set(c.nodeId, version);
  }
  const unchecked = order.filter((id) => !observed.has(id));
  if (unchecked.length > 0) throw new PlanError(`no version reported by ${unchecked.join(', ')}; every node is checked before the window opens`);
  return observed;
}

/** The plan again from the reported versions, over the whole cluster as planned (the nodes `only` left out too): the core node and minHealthy's totals come from it. */
export function windowPlan(input: UpgradeInput, roles: RunInfo['roles'], reported: ReadonlyMap<string, string>): UpgradePlan {
  const nodes: NodeSpec[] = Object.entries(roles).map(([id, nodeRoles]) => ({ id, roles: nodeRoles }));
  return planUpgrade({ ...input, nodes }, nodes, reported);
}

/** The nodes an earlier run left mid-window (`resumeFrom`) and the step each resumes at. */
export interface Resume {
  runId: string;
  nodes: ReadonlyMap<string, Interrupted>;
}

/** Which nodes the window upgrades, and what the plan Lambda records and answers for it. */
export interface WindowDecision {
  /** The window's `$.plan`: counts, the node items to upgrade (with resume fields), a sample of the skipped. */
  output: PlanOutput;
  /** The outcome to record for each node the window leaves out, with the roles it is recorded under. */
  skipped: { roles: string[]; outcome: NodeOutcome }[];
  /** The first node the window upgrades: the window opens only if it fits before the cutoff. */
  first: PlannedNode | undefined;
}

/**
 * Decides from the plan (made from the reported versions) which nodes the window upgrades. A node the earlier
 * run switched to the new release but never validated is not "already at target": it is restarted and
 * validated, never skipped. Skipped nodes are recorded at the version they run.
 */
export function decideWindow(plan: UpgradePlan, resume: Resume | undefined, at: string): WindowDecision {
  const resumeAt = new Map(resume?.nodes);
  const nodes = plan.groups.flatMap((g) => g.nodes);
  const decided = nodes.map((node): PlannedNode => {
    const interrupted = resumeAt.get(node.id);
    if (interrupted === undefined || node.action !== 'skip') return node;
    resumeAt.set(node.id, { ...interrupted, step: 'restart' });
    return { ...node, action: 'upgrade', reason: `resumed from run ${String(resume?.runId)} at its restart (upgraded, never validated)` };
  });
  const upgrading = new Set(decided.filter((n) => n.action === 'upgrade').map((n) => n.id));
  const skipped = decided.filter((n) => n.action === 'skip');
  const upgradeCount = upgrading.size;
  return {
    output: {
      coreNode: plan.coreNode,
      upgradeCount,
      skipCount: plan.order.length - upgradeCount,
      // The version it ran before the earlier run switched it: its record's "from", not today's version check.
      groups: stateMachineGroups(plan, (id) => upgrading.has(id)).map((g) => ({ ...g, nodes: g.nodes.map((n) => resumedItem(n, resumeAt.get(n.id))) })),
      // A sample for the console; every skipped node and why is recorded in DynamoDB.
      skipped: skipped.slice(0, 20).map((n) => ({ id: n.id, reason: n.reason })),
    },
    skipped: skipped.map((n) => ({ roles: n.roles, outcome: { nodeId: n.id, status: 'SKIPPED', from: n.from, to: n.from, reason: n.reason, at } })),
    first: decided.find((n) => upgrading.has(n.id)),
  };
}
