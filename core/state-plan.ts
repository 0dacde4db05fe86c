import type { UpgradePlan } from './plan.js';
import type { StepId } from './steps.js';

/** One node as the window's Map iterates over it: `retire` and the resume fields only when they apply (payload size). */
export interface StateNodeItem {
  id: string;
  retire?: true;
  resumeAt?: StepId;
  resumedFrom?: string;
}

/** What the plan Lambda puts into the state data (`$.plan`): groups of small node items (the full plan is in DynamoDB). */
export interface PlanOutput {
  coreNode: string;
  /** Node ids in processing order (plan phase: what 'Check every node' iterates over). */
  order?: string[];
  upgradeCount: number;
  skipCount: number;
  /** Groups of node items for the window. */
  groups: { role: string; concurrency: number; nodes: StateNodeItem[] }[];
  /** Nodes left out of the window, with why (decide phase). */
  skipped?: { id: string; reason: string }[];
  plan?: UpgradePlan;
}

/**
 * A node an earlier run left mid-window: it resumes at `step` (`restart` once switched, `backup` when only
 * retired), and `from` is the version it ran before that run (null if unknown).
 */
export interface Interrupted {
  step: StepId;
  from: string | null;
}

/** The plan phase's `$.plan`: until every node reported its version, the ids are all the state needs. */
export function checkPhasePlan(plan: UpgradePlan): PlanOutput {
  return { coreNode: plan.coreNode, order: plan.order, upgradeCount: plan.upgradeCount, skipCount: plan.skipCount, groups: [] };
}

/** The plan's groups as node items, keeping only the nodes `only` accepts; empty groups are left out. */
export function stateMachineGroups(plan: UpgradePlan, only?: (id: string) => boolean): PlanOutput['groups'] {
  return plan.groups
    .map((g) => ({
      role: g.role,
      concurrency: g.concurrency,
      nodes: g.nodes.filter((n) => only === undefined || only(n.id)).map((n): StateNodeItem => (n.retire ? { id: n.id, retire: true } : { id: n.id })),
    }))
    .filter((g) => g.nodes.length > 0);
}

/** A node item of a resumed run: where the node restarts and the version it ran before the earlier run. */
export function resumedItem(item: StateNodeItem, interrupted: Interrupted | undefined): StateNodeItem {
  if (interrupted === undefined) return item;
  return { ...item, resumeAt: interrupted.step, ...(interrupted.from === null ? {} : { resumedFrom: interrupted.from }) };
}
