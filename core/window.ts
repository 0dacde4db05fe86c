import type { StepCheckpoint } from './summary.js';
import { CLUSTER_STEPS, type StepId } from './steps.js';

/**
 * The window cutoff (`notAfter`): no node starts that cannot finish before it. How long a node takes is
 * judged from the per-node window durations that earlier runs of the cluster recorded (each run's summary
 * keeps them, taken from its step checkpoints' startedAt/finishedAt), per role, as a high percentile: one
 * slow node in ten does not make the estimate optimistic. Before any run recorded one, a default applies.
 */

/** A node's window when no earlier run recorded one: 20 minutes (validation, backup, upgrade, restart, validation). */
export const DEFAULT_NODE_WINDOW_SECONDS = 1200;
/** The percentile of recorded durations taken as a node's estimate. */
export const ESTIMATE_PERCENTILE = 90;
/** Earlier runs whose durations count (the most recent ones: the runbook and the nodes change over time). */
export const RECENT_RUNS = 5;

/** From its first window step's start to its post-upgrade validation's end. */
const FIRST_STEP: StepId = 'pre-upgrade-validation';
const LAST_STEP: StepId = 'post-upgrade-validation';

/** How long one node's window took in an earlier run. */
export interface NodeDuration {
  roles: string[];
  seconds: number;
}

/** Estimated window seconds per node: by role, and over every role (for a role no run recorded). */
export interface WindowEstimates {
  byRole: Record<string, number>;
  overall: number;
  /** Node durations the estimates come from (0: the default applies). */
  samples: number;
}

/**
 * The nodes of one earlier run that went through the whole window (a node that failed, was resumed part-way
 * or rolled back is left out: its time says nothing about a normal node's).
 */
export function nodeDurations(checkpoints: readonly StepCheckpoint[], roles: Readonly<Record<string, readonly string[]>>): NodeDuration[] {
  const byNode = new Map<string, { start?: number; end?: number; failed: boolean }>();
  for (const c of checkpoints) {
    // Maintenance mode's steps run on the core node but are the cluster's, not the node's window.
    if (CLUSTER_STEPS.includes(c.step)) continue;
    const node = byNode.get(c.nodeId) ?? { failed: false };
    if (c.status === 'FAILED' || c.step === 'rollback') node.failed = true;
    if (c.step === FIRST_STEP) node.start = Date.parse(c.startedAt);
    if (c.step === LAST_STEP && c.finishedAt !== undefined && (c.status === 'SUCCEEDED' || c.status === 'FAILED_IGNORED')) node.end = Date.parse(c.finishedAt);
    byNode.set(c.nodeId, node);
  }
  const out: NodeDuration[] = [];
  for (const [id, n] of byNode) {
    if (n.failed || n.start === undefined || n.end === undefined || Number.isNaN(n.start) || Number.isNaN(n.end) || n.end < n.start) continue;
    out.push({ roles: [...(roles[id] ?? [])], seconds: (n.end - n.start) / 1000 });
  }
  return out;
}

/** The nearest-rank percentile of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/** Durations a run keeps for later estimates, per role and over all nodes (`RUN#id` / `DURATIONS`). */
export interface RecordedDurations {
  byRole: Record<string, number[]>;
  all: number[];
}

/** Values kept per list: evenly spaced over the sorted durations, so a run of thousands of nodes stays a small item with its percentiles. */
export const MAX_RECORDED_DURATIONS = 500;

function thinned(values: readonly number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length <= MAX_RECORDED_DURATIONS) return sorted;
  const step = (sorted.length - 1) / (MAX_RECORDED_DURATIONS - 1);
  return Array.from({ length: MAX_RECORDED_DURATIONS }, (_, i) => sorted[Math.round(i * step)] as number);
}

/** What the summary of a run records of its node durations (whole seconds, rounded up). */
export function recordDurations(durations: readonly NodeDuration[]): RecordedDurations {
  const perRole = new Map<string, number[]>();
  for (const d of durations) for (const role of d.roles) perRole.set(role, [...(perRole.get(role) ?? []), Math.ceil(d.seconds)]);
  return {
    byRole: Object.fromEntries([...perRole].map(([role, values]) => [role, thinned(values)])),
    all: thinned(durations.map((d) => Math.ceil(d.seconds))),
  };
}

/** Estimates from what recent runs recorded (seconds rounded up); the default without any. */
export function estimatesFrom(recorded: readonly RecordedDurations[]): WindowEstimates {
  const all = recorded.flatMap((r) => r.all);
  if (all.length === 0) return { byRole: {}, overall: DEFAULT_NODE_WINDOW_SECONDS, samples: 0 };
  const perRole = new Map<string, number[]>();
  for (const r of recorded) for (const [role, values] of Object.entries(r.byRole)) perRole.set(role, [...(perRole.get(role) ?? []), ...values]);
  const estimate = (values: readonly number[]) => Math.ceil(percentile(values, ESTIMATE_PERCENTILE));
  return {
    byRole: Object.fromEntries([...perRole].filter(([, values]) => values.length > 0).map(([role, values]) => [role, estimate(values)])),
    overall: estimate(all),
    samples: all.length,
  };
}

/** Estimates straight from node durations (one run's, or none: the default). */
export function windowEstimates(durations: readonly NodeDuration[]): WindowEstimates {
  return estimatesFrom([recordDurations(durations)]);
}

/** A node's estimate: the longest of its roles' (a node with two roles does the work of both), else the overall one. */
export function nodeEstimateSeconds(estimates: WindowEstimates, roles: readonly string[]): number {
  const known = roles.map((r) => estimates.byRole[r]).filter((s): s is number => s !== undefined);
  return known.length > 0 ? Math.max(...known) : estimates.overall;
}

/** What the cutoff answers at "May this node start?". */
export type CutoffAnswer = { go: true } | { go: false; reason: string; estimatedFinish: string };

/** A node may start only when it is estimated to finish by `notAfter`. */
export function cutoffAnswer(notAfter: string, now: Date, nodeId: string, estimateSeconds: number): CutoffAnswer {
  const finish = new Date(now.getTime() + estimateSeconds * 1000);
  if (finish.getTime() <= Date.parse(notAfter)) return { go: true };
  return {
    go: false,
    estimatedFinish: finish.toISOString(),
    reason:
      `window cutoff: ${nodeId} would finish about ${finish.toISOString()} (estimated ${formatSeconds(estimateSeconds)}), ` +
      `after notAfter ${notAfter}; no further node starts (resume later with --resume-from)`,
  };
}

/** The estimated window of a plan's groups: a group takes its rounds (nodes ÷ concurrency) × its nodes' longest estimate. */
export function planWindow(
  groups: readonly { role: string; concurrency: number; nodes: readonly { roles: readonly string[]; action: 'upgrade' | 'skip' }[] }[],
  estimates: WindowEstimates,
): { groups: { role: string; seconds: number }[]; totalSeconds: number } {
  const out = groups.map((g) => {
    const upgrading = g.nodes.filter((n) => n.action === 'upgrade');
    if (upgrading.length === 0) return { role: g.role, seconds: 0 };
    const longest = Math.max(...upgrading.map((n) => nodeEstimateSeconds(estimates, n.roles)));
    return { role: g.role, seconds: Math.ceil(upgrading.length / Math.max(1, g.concurrency)) * longest };
  });
  return { groups: out, totalSeconds: out.reduce((sum, g) => sum + g.seconds, 0) };
}

/** `1h 05m`, `12m 30s`, `45s`: how an operator reads a duration. */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * `--not-after`: an ISO time, or `+90m` / `+2h` / `+45s` from `now` → the absolute ISO time the input takes;
 * null when the text is neither.
 */
export function resolveNotAfter(text: string, now: Date): string | null {
  const relative = /^\+([0-9]{1,5})([smhd])$/.exec(text.trim());
  if (relative !== null) {
    const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() + Number(relative[1]) * unit * 1000).toISOString();
  }
  if (!ISO_TIME.test(text.trim())) return null;
  const at = Date.parse(text.trim());
  return Number.isNaN(at) ? null : new Date(at).toISOString();
}

/** An ISO 8601 time with a zone: `2026-12-01T06:00:00Z`, `2026-12-01T07:00+01:00`. */
export const ISO_TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})$/;
