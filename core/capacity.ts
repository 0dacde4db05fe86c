import { InputValidationError } from './errors.js';
import { MAX_CONCURRENCY, MAX_NODES, STEP_FUNCTIONS_PAYLOAD_BYTES, type UpgradeInput } from './input-schema.js';
import { CLUSTER_TAG } from './node-tags.js';
import type { UpgradePlan } from './plan.js';
import type { RunContext } from './run-context.js';
import { checkPhasePlan, resumedItem, stateMachineGroups, type Interrupted, type PlanOutput } from './state-plan.js';

/**
 * Will one run's state data fit? Step Functions limits every state's input and output to 256 KiB, and
 * the run carries every node id before the window and every node item in it. Past that limit a run fails
 * mid-way with States.DataLimitExceeded, which no Catch takes, maybe inside the window: refuse it up front.
 * https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
 */

/** A state's (and a task's) input or output, at most: UTF-8 bytes of its JSON. */
export const STATE_LIMIT_BYTES = STEP_FUNCTIONS_PAYLOAD_BYTES;
/**
 * Kept free for what rides along with the plan in the run's last states and is not estimated: the compacted
 * summary of a failed run (with up to 100 nodes shown), two maintenance-mode step results, an error.
 */
export const STATE_MARGIN_BYTES = 49_152;

/** One state the run will carry, its bytes, and how many it may have. */
export interface StateSize {
  /** Where the run carries it, in the operator's words. */
  state: string;
  bytes: number;
  /** The limit, less the margin where the estimate leaves fields out. */
  budget: number;
}

export interface StateEstimate {
  nodes: number;
  /** Every state of the run whose size grows with the nodes. */
  states: StateSize[];
  /** The state closest to (or furthest past) its budget. */
  largest: StateSize;
  fits: boolean;
  /** Mean length of the node ids. */
  idLength: number;
  /** The most nodes like these (same id length, same share of retiring nodes) one run takes. */
  maxNodes: { discovered: number; listed: number };
}

export interface EstimateOptions {
  /** The nodes are listed in the execution input (`nodes`), which the plan's task input carries whole. */
  listed: boolean;
  /** Nodes a resumed run restarts (read from the earlier run); without it, as many as can have been in flight. */
  resumed?: ReadonlyMap<string, Interrupted>;
}

const encoder = new TextEncoder();
const jsonBytes = (value: unknown): number => encoder.encode(JSON.stringify(value)).length;
const BUDGET = STATE_LIMIT_BYTES - STATE_MARGIN_BYTES;

/** The window's `$.plan` at its largest: every node upgrading, retire flags as planned, resume fields if resuming. */
function windowPlan(input: UpgradeInput, plan: UpgradePlan, resumed: ReadonlyMap<string, Interrupted> | undefined): PlanOutput {
  // Before the earlier run is read: it stopped with at most MAX_CONCURRENCY nodes between upgrade and
  // validation (groups run one at a time), taken as the longest ids; the target stands in for their version.
  const guessed = new Set([...plan.order].sort((a, b) => b.length - a.length).slice(0, MAX_CONCURRENCY));
  const resumeOf = (id: string): Interrupted | undefined => {
    if (input.resumeFrom === undefined) return undefined;
    if (resumed !== undefined) return resumed.get(id);
    return guessed.has(id) ? { step: 'restart', from: input.targetVersion } : undefined;
  };
  const groups = stateMachineGroups(plan).map((g) => ({ ...g, nodes: g.nodes.map((n) => resumedItem(n, resumeOf(n.id))) }));
  return { coreNode: plan.coreNode, upgradeCount: plan.order.length, skipCount: 0, groups, skipped: [] };
}

/** The states whose size grows with the nodes, as the stack builds them (lib/workflow/). */
function stateSizes(input: UpgradeInput, run: RunContext, plan: UpgradePlan, options: EstimateOptions): StateSize[] {
  // validate-input keeps `nodes` out of the state data.
  const { nodes: _listed, ...stateInput } = input;
  const base = { input: stateInput, run, lock: { acquired: true, expiresAt: run.startedAt } };
  const sizes: StateSize[] = [
    { state: 'before the window ("Check every node": every node id)', bytes: jsonBytes({ ...base, plan: checkPhasePlan(plan) }), budget: BUDGET },
    {
      state: 'in the window ("Upgrade groups in role order": every node item)',
      bytes: jsonBytes({ ...base, plan: windowPlan(input, plan, options.resumed) }),
      budget: BUDGET,
    },
  ];
  if (options.listed) {
    // Every field of this one is counted, so it may use the whole limit.
    const nodes = plan.groups.flatMap((g) => g.nodes.map((n) => ({ id: n.id, roles: n.roles })));
    sizes.push({
      state: '"Plan upgrade" (its task input holds the execution input with "nodes")',
      bytes: jsonBytes({ input: stateInput, executionInput: { ...stateInput, nodes }, run }),
      budget: STATE_LIMIT_BYTES,
    });
  }
  return sizes;
}

/** How far past (positive) or short of (negative) its budget a state is. */
const over = (s: StateSize) => s.bytes - s.budget;

/**
 * The largest state one run of this plan carries, whether it fits, and how many nodes like these would:
 * every size is the JSON the run will hold, and each grows by the same bytes per node of this mix.
 */
export function estimateStates(input: UpgradeInput, run: RunContext, plan: UpgradePlan, options: EstimateOptions): StateEstimate {
  const count = plan.order.length;
  const listedOptions = { ...options, listed: true };
  const sizes = stateSizes(input, run, plan, listedOptions);
  // The same plan with one node per group: the difference is what the other nodes add, node by node.
  const firsts = plan.groups.map((g) => ({ ...g, nodes: g.nodes.slice(0, 1) }));
  const small = firsts.flatMap((g) => g.nodes.map((node) => node.id));
  const smallSizes = stateSizes(input, run, { ...plan, order: plan.order.filter((id) => small.includes(id)), groups: firsts }, listedOptions);
  const ceiling = (s: StateSize, i: number) => {
    const rest = count - small.length;
    const perNode = rest > 0 ? (s.bytes - (smallSizes[i]?.bytes ?? 0)) / rest : s.bytes / Math.max(count, 1);
    return perNode <= 0 ? MAX_NODES : Math.min(MAX_NODES, count + Math.floor((s.budget - s.bytes) / perNode));
  };
  const ceilings = sizes.map(ceiling);
  const ofRun = options.listed ? sizes : sizes.slice(0, 2);
  const largest = ofRun.reduce((a, b) => (over(b) > over(a) ? b : a));
  return {
    nodes: count,
    states: ofRun,
    largest,
    fits: ofRun.every((s) => over(s) <= 0),
    idLength: Math.round(plan.order.reduce((sum, id) => sum + id.length, 0) / Math.max(count, 1)),
    maxNodes: { discovered: Math.min(...ceilings.slice(0, 2)), listed: Math.min(...ceilings) },
  };
}

const n = (x: number) => x.toLocaleString('en-US');

/**
 * Refuses a run whose state would pass Step Functions' limit, naming where the nodes came from, the bytes
 * and how many nodes fit: planned before anything is touched.
 */
export function refuseOversizedRun(input: UpgradeInput, run: RunContext, plan: UpgradePlan, options: EstimateOptions): StateEstimate {
  const estimate = estimateStates(input, run, plan, options);
  if (estimate.fits) return estimate;
  const { largest, maxNodes, idLength } = estimate;
  const limit =
    `the ${n(STATE_LIMIT_BYTES)}-byte (256 KiB) Step Functions ` +
    `limit per state${largest.budget < STATE_LIMIT_BYTES ? `, less ${n(STATE_MARGIN_BYTES)} bytes kept for the run's other fields` : ''}`;
  const size = `would make the run's state ${n(largest.bytes)} bytes ${largest.state}, over ${limit}`;
  const fit = `at most ${n(maxNodes.listed)} nodes with ids of ${idLength} characters fit one run`;
  const split = `split the cluster into runs of at most ${n(maxNodes.listed)} nodes each, listing each run's nodes in "nodes" (for example one run per role, or per subset of a large role)`;
  if (options.listed) {
    throw new InputValidationError(`nodes: ${n(estimate.nodes)} nodes ${size}; ${fit}. Nothing was changed: ${split}`, 'nodes');
  }
  throw new InputValidationError(
    `cluster: the ${n(estimate.nodes)} nodes tagged ${CLUSTER_TAG}=${input.cluster} ${size}; ${fit} (${n(maxNodes.discovered)} when found by tag). Nothing was changed: ${split}`,
    'cluster',
  );
}
