import { InputValidationError, PlanError } from './errors.js';
import { UNMATCHED, type NodeSpec, type UpgradeInput } from './input-schema.js';
import { DEFAULT_ROLE_ORDER, groupByRole } from './role-order.js';
import { compareNatural } from './natural-sort.js';
import { compareVersions } from './version.js';
import { selectNodes } from './node-selection.js';
import { refuseUnusedRoles } from './unused-roles.js';
import type { RunContext } from './run-context.js';
import type { RunInfo } from './summary.js';

export interface PlannedNode {
  id: string;
  roles: string[];
  /** Version last recorded for the node, or null when nothing is known yet (the node's own version check decides). */
  from: string | null;
  to: string;
  action: 'upgrade' | 'skip';
  reason: string;
  /** DEA nodes are retired (applications evacuated) before they change. */
  retire: boolean;
}

export interface PlanGroup {
  role: string;
  /** Nodes of the group upgraded at once: `concurrency[role]` (default 1), lowered by `minHealthy[role]`. */
  concurrency: number;
  /** Why the concurrency is lower than asked, when it is. */
  limitedBy?: string;
  nodes: PlannedNode[];
}

export interface UpgradePlan {
  cluster: string;
  targetVersion: string;
  roleOrder: string[];
  /** The node that runs maintenance mode on and off: `coreNode` from the input, else the node with `primary`. */
  coreNode: string;
  groups: PlanGroup[];
  /** Node ids in processing order. */
  order: string[];
  upgradeCount: number;
  skipCount: number;
  /** The cluster's nodes left out by `only`: no step runs on them (the core node still switches maintenance mode). */
  notInRun?: string[];
}

function decide(from: string | null, target: string, force: boolean): Pick<PlannedNode, 'action' | 'reason'> {
  if (from === null) return { action: 'upgrade', reason: 'version unknown until the node is checked' };
  const cmp = compareVersions(from, target);
  if (cmp === 0 && !force) return { action: 'skip', reason: `already at ${target}` };
  if (cmp > 0 && !force) return { action: 'skip', reason: `already above ${target} (at ${from}); force downgrades it` };
  if (force && cmp === 0) return { action: 'upgrade', reason: `forced (at ${from})` };
  if (force && cmp > 0) return { action: 'upgrade', reason: `forced downgrade ${from} → ${target}` };
  return { action: 'upgrade', reason: `${from} → ${target}` };
}

/**
 * A downgrade target is refused unless forced: the target is older than a node's version and no node
 * would move up to it. (A mixed cluster, where some nodes are behind the target, upgrades those and
 * skips the ones already ahead.)
 */
export function refuseDowngrade(target: string, versions: ReadonlyMap<string, string>, force: boolean): void {
  if (force) return;
  const ahead = [...versions].filter(([, v]) => compareVersions(v, target) > 0).sort(([a], [b]) => compareNatural(a, b));
  const behind = [...versions.values()].some((v) => compareVersions(v, target) < 0);
  const first = ahead[0];
  if (first === undefined || behind) return;
  const [id, version] = first;
  const others = ahead.length > 1 ? ` and ${ahead.length - 1} more node${ahead.length > 2 ? 's' : ''}` : '';
  throw new InputValidationError(
    `targetVersion: ${target} is older than ${id}'s ${version}${others}: that is a downgrade, which needs force (--force); nothing was changed`,
    'targetVersion',
  );
}

function pickCoreNode(nodes: readonly NodeSpec[], named: string | undefined): string {
  if (named !== undefined) {
    if (!nodes.some((n) => n.id === named)) throw new PlanError(`coreNode ${named} is not one of the cluster's nodes`);
    return named;
  }
  const primaries = nodes
    .filter((n) => n.roles.includes('primary'))
    .map((n) => n.id)
    .sort(compareNatural);
  const core = primaries[0];
  if (core === undefined) {
    throw new PlanError('no node has the role "primary", so no node can switch maintenance mode; name one with coreNode');
  }
  return core;
}

/**
 * How many nodes of a group go out of service at once: the asked concurrency, never more than leaves
 * `minHealthy` of the role's nodes (all of them in the cluster, whichever group they upgrade with) in
 * service. A guard that leaves no node to upgrade is a plan error.
 */
function groupConcurrency(role: string, groupSize: number, all: readonly NodeSpec[], input: UpgradeInput): Pick<PlanGroup, 'concurrency' | 'limitedBy'> {
  const asked = Math.min(input.concurrency[role] ?? 1, groupSize);
  const guard = input.minHealthy[role];
  if (guard === undefined) return { concurrency: asked };
  const total = role === UNMATCHED ? groupSize : all.filter((n) => n.roles.includes(role)).length;
  const keep = typeof guard === 'number' ? guard : Math.ceil((total * Number(guard.slice(0, -1))) / 100);
  const maxOut = total - keep;
  if (maxOut < 1) {
    throw new PlanError(
      `minHealthy.${role}: ${keep} of the ${total} ${role} node${total === 1 ? '' : 's'} must stay in service, so none can be taken out to upgrade; lower minHealthy.${role}`,
    );
  }
  return maxOut < asked ? { concurrency: maxOut, limitedBy: `minHealthy.${role}: ${keep} of ${total} stay in service` } : { concurrency: asked };
}

/**
 * The upgrade plan: groups in role order, each node's current → target version and whether it will be
 * upgraded. `known` holds versions already recorded for nodes (DynamoDB); the node's own version check
 * remains the authority when the run reaches it.
 */
export function planUpgrade(input: UpgradeInput, nodes: readonly NodeSpec[], known: ReadonlyMap<string, string>): UpgradePlan {
  if (nodes.length === 0) throw new PlanError(`cluster ${input.cluster} has no nodes to upgrade`);
  const roleOrder = input.roleOrder ?? [...DEFAULT_ROLE_ORDER];
  // Judged on the whole cluster: its roles, its core node (maintenance mode is cluster-wide), minHealthy's totals.
  refuseUnusedRoles(input, nodes);
  const { selected, notInRun } = selectNodes(nodes, input.only);
  const coreNode = pickCoreNode(nodes, input.coreNode);
  const ids = new Set(selected.map((n) => n.id));
  refuseDowngrade(input.targetVersion, new Map([...known].filter(([id]) => ids.has(id))), input.force);
  const groups: PlanGroup[] = groupByRole(selected, roleOrder).map((group) => ({
    role: group.role,
    ...groupConcurrency(group.role, group.nodes.length, nodes, input),
    nodes: group.nodes.map((node) => {
      const from = known.get(node.id) ?? null;
      return {
        id: node.id,
        roles: [...node.roles],
        from,
        to: input.targetVersion,
        ...decide(from, input.targetVersion, input.force),
        retire: node.roles.includes('dea'),
      };
    }),
  }));
  const order = groups.flatMap((g) => g.nodes.map((n) => n.id));
  const upgradeCount = groups.reduce((sum, g) => sum + g.nodes.filter((n) => n.action === 'upgrade').length, 0);
  return {
    cluster: input.cluster,
    targetVersion: input.targetVersion,
    roleOrder,
    coreNode,
    groups,
    order,
    upgradeCount,
    skipCount: order.length - upgradeCount,
    ...(input.only === undefined ? {} : { notInRun }),
  };
}

/** What the plan phase records about the run: the order, every node's roles (the whole cluster's) and version as planned. */
export function plannedRun(
  run: Pick<RunContext, 'runId' | 'cluster' | 'targetVersion' | 'startedAt'>,
  input: Pick<UpgradeInput, 'prepareOnly'>,
  plan: UpgradePlan,
  nodes: readonly NodeSpec[],
): RunInfo {
  return {
    runId: run.runId,
    cluster: run.cluster,
    targetVersion: run.targetVersion,
    coreNode: plan.coreNode,
    order: plan.order,
    roles: Object.fromEntries(nodes.map((n) => [n.id, n.roles])),
    plannedFrom: Object.fromEntries(plan.groups.flatMap((g) => g.nodes.map((n) => [n.id, n.from]))),
    startedAt: run.startedAt,
    ...(input.prepareOnly ? { prepareOnly: true } : {}),
    ...(plan.notInRun?.length ? { notInRun: plan.notInRun } : {}),
  };
}
