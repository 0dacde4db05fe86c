import type { RunInfo } from '../core/summary.js';

/** A node of a run as planned (`RUN#id` / `PLAN#node`); `startedAt` once the gate let it start. */
export interface PlannedNode {
  nodeId: string;
  seq: number;
  roles: string[];
  plannedFrom?: string;
  startedAt?: string;
  /** A node of the cluster that `only` left out: recorded for its roles (the decide phase plans the whole cluster), never run. */
  notInRun?: true;
}

/** One item per node: the run's nodes in order, then the cluster's nodes left out of it. */
export function planItems(run: Pick<RunInfo, 'order' | 'roles' | 'plannedFrom' | 'notInRun'>): PlannedNode[] {
  const { order, roles, plannedFrom } = run;
  return [...order, ...(run.notInRun ?? [])].map((nodeId, seq) => ({
    nodeId,
    seq,
    roles: roles[nodeId] ?? [],
    ...(plannedFrom[nodeId] ? { plannedFrom: plannedFrom[nodeId] } : {}),
    ...(seq >= order.length ? { notInRun: true as const } : {}),
  }));
}

/** The run's per-node facts from its plan items (any order); `roles` covers the nodes left out too. */
export function planFromItems(items: readonly PlannedNode[]): Pick<RunInfo, 'order' | 'roles' | 'plannedFrom' | 'notInRun'> {
  const sorted = [...items].sort((a, b) => a.seq - b.seq);
  const inRun = sorted.filter((p) => p.notInRun !== true);
  const left = sorted.filter((p) => p.notInRun === true).map((p) => p.nodeId);
  return {
    order: inRun.map((p) => p.nodeId),
    roles: Object.fromEntries(sorted.map((p) => [p.nodeId, p.roles])),
    plannedFrom: Object.fromEntries(inRun.map((p) => [p.nodeId, p.plannedFrom ?? null])),
    ...(left.length > 0 ? { notInRun: left } : {}),
  };
}
