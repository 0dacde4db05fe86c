import type { DeciderIdentity } from './approvers.js';
import { STEP_FAILED } from './errors.js';
import { CHANGES_NODE_STEPS, CLUSTER_STEPS, NODE_PIPELINE, STEP_IDS, type StepId } from './steps.js';
import { heldReport, type HeldReport } from './hold.js';
import type { PauseReport } from './pause.js';
import type { CanaryReport } from './canary.js';
import type { HealthReport } from './health.js';
import { cutoffStatus, type WindowCutoff } from './window-outcome.js';
import type { NodeStatus } from './node-status.js';

export type { NodeStatus };

export type CheckpointStatus = 'RUNNING' | 'SUCCEEDED' | 'NOTHING_TO_DO' | 'FAILED' | 'FAILED_IGNORED';

/**
 * PREPARED: a prepareOnly run checked every node and staged the package on those that need it.
 * PARTIAL: the operator skipped failed nodes (restored to their old version) and every other node upgraded.
 * ROLLED_BACK: a failed node was rolled back and the run stopped. ABORTED: the operator stopped the run.
 * INCOMPLETE: the window cutoff (notAfter) let no further node start; the others are at their old version.
 */
export type RunStatus = 'SUCCEEDED' | 'PREPARED' | 'PARTIAL' | 'ROLLED_BACK' | 'ABORTED' | 'FAILED' | 'INCOMPLETE';

/** One step on one node in one run (DynamoDB `RUN#id` / `STEP#NODE#id#nn`). */
export interface StepCheckpoint {
  nodeId: string;
  step: StepId;
  status: CheckpointStatus;
  exitCode: number | null;
  warnings: string[];
  outputTail?: string;
  details?: Record<string, unknown>;
  startedAt: string;
  finishedAt?: string;
  /** The SSM command that runs (ran) the step, and the execution timeout it was given. */
  commandId?: string;
  timeoutSeconds?: number;
  /** Attempts of this step that failed before it was run again (the operator's retry, or rollback's and maintenance-off's own retries), oldest first. */
  earlierAttempts?: EarlierAttempt[];
}

/** A failed attempt of a step that was retried: what it said, kept when the retry overwrites the checkpoint. */
export interface EarlierAttempt {
  exitCode: number | null;
  outputTail: string;
  finishedAt?: string;
}

/** How a node's part of the run ended (DynamoDB `RUN#id` / `OUTCOME#id`). */
export interface NodeOutcome {
  nodeId: string;
  status: 'UPGRADED' | 'SKIPPED' | 'FAILED' | 'ROLLED_BACK' | 'NEEDS_ATTENTION';
  /** The operator's decision after the failure, and whether the timeout made it. */
  decision?: 'rollback' | 'retry' | 'skip' | 'abort';
  decidedBy?: string;
  byTimeout?: boolean;
  /** Who signed in on the approval page to decide (issuer, subject, email). */
  decidedIdentity?: DeciderIdentity;
  /** The rollback itself failed: the node's state is unknown. */
  rollbackFailed?: boolean;
  from: string | null;
  to: string | null;
  failedStep?: StepId;
  /** Why a node was skipped (e.g. `already at 3.1.0`). */
  reason?: string;
  at: string;
}

/** What the plan recorded about the run (DynamoDB `CLUSTER#c` / `RUN#id`). */
export interface RunInfo {
  runId: string;
  cluster: string;
  targetVersion: string;
  coreNode: string;
  order: string[];
  roles: Record<string, string[]>;
  plannedFrom: Record<string, string | null>;
  startedAt: string;
  /** The run only prepares the nodes (no maintenance window). */
  prepareOnly?: boolean;
  /** The cluster's nodes `only` left out of the run (their roles are in `roles`; they are not in `order`). */
  notInRun?: string[];
}

export interface SummaryStep {
  step: StepId;
  status: CheckpointStatus;
  warnings: string[];
  exitCode?: number | null;
  /** How long the step ran, to a tenth of a second (absent while it runs). */
  seconds?: number;
  /** The step was retried: how each earlier attempt failed (its output trimmed to 200 characters). */
  failedAttempts?: { exitCode: number | null; outputTail: string }[];
}

export interface NodeSummary {
  roles: string[];
  from: string | null;
  to: string | null;
  status: NodeStatus;
  steps: SummaryStep[];
  /** The operator's decision after this node failed: what, by whom (the signed-in identity too), or by timeout. */
  decided?: { decision: NonNullable<NodeOutcome['decision']>; by: string; byTimeout: boolean; identity?: DeciderIdentity };
}

export interface RunFailure {
  node: string | null;
  step: string | null;
  error: string;
  message: string;
  exitCode: number | null;
  outputTail: string;
}

/** The run's summary: the execution's final output, the CLI's `--json`, and the RUN record. */
export interface Summary {
  status: RunStatus;
  runId: string;
  cluster: string;
  targetVersion: string;
  order: string[];
  nodes: Record<string, NodeSummary>;
  /** Per status, adding up to the cluster's nodes: `notInRun` counts the nodes `only` left out. */
  counts: Record<'upgraded' | 'skipped' | 'prepared' | 'rolledBack' | 'needsAttention' | 'failed' | 'notStarted' | 'notInRun', number>;
  maintenanceMode: { node: string; enabledAt: string | null; disabledAt: string | null };
  lockReleased: boolean;
  failure: RunFailure | null;
  warnings: string[];
  /** The cluster's nodes not in this run (`only`): no step of their own ran (the core node may still switch maintenance mode). Absent without `only`. */
  notInRun?: string[];
  /** Nodes that waited while the operator decided about a failed node (absent when none waited). */
  held?: (HeldReport & { started: boolean })[];
  /** The run's last pause (`fleet-upgrade pause`): who, when, how it ended, and the time spent paused. */
  pause?: PauseReport;
  /** The canary (input `canary`): its nodes and the operator's continue or abort. */
  canary?: CanaryReport;
  /** Health gates (input `healthAlarms`): the alarms watched, the last that fired, and the operator's continue or abort. */
  health?: HealthReport;
  /** The window cutoff that stopped the run: the first node it refused (absent when none was refused). */
  cutoff?: WindowCutoff;
  startedAt: string;
  finishedAt: string;
}

/** An error the state machine caught outside a node step (e.g. a Lambda that threw). */
export interface CaughtError {
  Error: string;
  Cause?: string;
}

function stepSeconds(c: StepCheckpoint): { seconds?: number } {
  if (c.finishedAt === undefined) return {};
  const ms = Date.parse(c.finishedAt) - Date.parse(c.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? { seconds: Math.round(ms / 100) / 10 } : {};
}

/** Steps a node runs before the maintenance window opens (checks and pre-staging); they change nothing the node serves. */
export const BEFORE_WINDOW: readonly StepId[] = ['self-update', 'version-check', 'download'];
/** Steps that leave what the node serves as it was: a node that ran no other step was not changed by the run. */
const LEAVES_NODE_AS_IT_WAS: readonly StepId[] = NODE_PIPELINE.filter((s) => !CHANGES_NODE_STEPS.includes(s));

function nodeStatus(outcome: NodeOutcome | undefined, steps: readonly StepCheckpoint[], prepareOnly: boolean): NodeStatus {
  if (outcome !== undefined) return outcome.status;
  if (steps.some((s) => s.status === 'FAILED')) return 'FAILED';
  // Checked (staged, validated) but never changed: its upgrade did not start, e.g. a stop landed after its validation.
  if (!steps.every((s) => LEAVES_NODE_AS_IT_WAS.includes(s.step) && s.status !== 'RUNNING')) return 'IN_PROGRESS';
  return prepareOnly && steps.some((s) => s.step === 'download' && s.status === 'SUCCEEDED') ? 'PREPARED' : 'NOT_STARTED';
}

/**
 * The failure that explains the run: a node's before the cluster's, and one that stopped the run before one
 * that was skipped (rolled back and left behind while the run went on).
 */
function failureFrom(checkpoints: readonly StepCheckpoint[], caught: CaughtError | undefined, skipped: ReadonlySet<string>): RunFailure | null {
  const nodeFailed = (c: StepCheckpoint) => c.status === 'FAILED' && !CLUSTER_STEPS.includes(c.step);
  const failed =
    checkpoints.find((c) => nodeFailed(c) && !skipped.has(c.nodeId)) ?? checkpoints.find(nodeFailed) ?? checkpoints.find((c) => c.status === 'FAILED');
  if (failed !== undefined) {
    return {
      node: failed.nodeId,
      step: failed.step,
      error: STEP_FAILED,
      message: `${failed.step} failed on ${failed.nodeId}${failed.exitCode === null ? '' : ` (exit code ${failed.exitCode})`}`,
      exitCode: failed.exitCode,
      outputTail: failed.outputTail ?? '',
    };
  }
  if (caught === undefined) return null;
  return { node: null, step: null, error: caught.Error, message: caught.Cause ?? caught.Error, exitCode: null, outputTail: '' };
}

/** Builds the summary from what DynamoDB recorded, so it tells the same truth as the table. */
export function buildSummary(args: {
  run: RunInfo;
  checkpoints: readonly StepCheckpoint[];
  outcomes: readonly NodeOutcome[];
  lockReleased: boolean;
  caught?: CaughtError;
  /** Nodes held by open questions (`RUN#id` / `HELD#node`). */
  held?: readonly { nodeId: string; heldMs: number; since?: string; waitedFor: string[] }[];
  /** The run's last pause; an EXPIRED one stopped the run as abort does, for `stopReason`. */
  pause?: PauseReport;
  /** The canary; an abort stopped the run, for `stopReason`. */
  canary?: CanaryReport;
  /** The health gate; an abort stopped the run, for `stopReason`. */
  health?: HealthReport;
  stopReason?: string;
  /** The node the window cutoff refused (`RUN#id` / `WINDOW`). */
  cutoff?: WindowCutoff;
  finishedAt: string;
}): Summary {
  const { run, checkpoints, outcomes } = args;
  const byNode = new Map<string, StepCheckpoint[]>();
  for (const c of checkpoints) {
    if (CLUSTER_STEPS.includes(c.step)) continue;
    const list = byNode.get(c.nodeId) ?? [];
    list.push(c);
    byNode.set(c.nodeId, list);
  }
  const nodes: Record<string, NodeSummary> = {};
  const counts = { upgraded: 0, skipped: 0, prepared: 0, rolledBack: 0, needsAttention: 0, failed: 0, notStarted: 0, notInRun: run.notInRun?.length ?? 0 };
  const warnings: string[] = [];
  for (const id of run.order) {
    const steps = (byNode.get(id) ?? []).sort((a, b) => STEP_IDS.indexOf(a.step) - STEP_IDS.indexOf(b.step));
    const outcome = outcomes.find((o) => o.nodeId === id);
    const status = nodeStatus(outcome, steps, run.prepareOnly === true);
    const checked = steps.find((s) => s.step === 'version-check')?.details?.version;
    const from = outcome?.from ?? (typeof checked === 'string' ? checked : (run.plannedFrom[id] ?? null));
    // null: the node failed after it changed; its version is unknown until it is rolled back.
    const to = outcome !== undefined ? outcome.to : from;
    if (status === 'UPGRADED') counts.upgraded++;
    else if (status === 'SKIPPED') counts.skipped++;
    else if (status === 'PREPARED') counts.prepared++;
    else if (status === 'ROLLED_BACK') counts.rolledBack++;
    else if (status === 'NEEDS_ATTENTION') counts.needsAttention++;
    else if (status === 'NOT_STARTED') counts.notStarted++;
    else counts.failed++;
    for (const s of steps) for (const w of s.warnings) warnings.push(`${id} ${s.step}: ${w}`);
    nodes[id] = {
      roles: run.roles[id] ?? [],
      from,
      to,
      status,
      ...(outcome?.decision !== undefined && outcome.decidedBy !== undefined
        ? {
            decided: {
              decision: outcome.decision,
              by: outcome.decidedBy,
              byTimeout: outcome.byTimeout === true,
              ...(outcome.decidedIdentity ? { identity: outcome.decidedIdentity } : {}),
            },
          }
        : {}),
      steps: steps.map((s) => ({
        step: s.step,
        status: s.status,
        warnings: s.warnings,
        exitCode: s.exitCode,
        ...stepSeconds(s),
        ...(s.earlierAttempts?.length
          ? { failedAttempts: s.earlierAttempts.map((a) => ({ exitCode: a.exitCode, outputTail: a.outputTail.slice(-200) })) }
          : {}),
      })),
    };
  }
  const cluster = (step: StepId) => checkpoints.find((c) => c.step === step && c.status === 'SUCCEEDED');
  const failure = failureFrom(checkpoints, args.caught, new Set(outcomes.filter((o) => o.decision === 'skip').map((o) => o.nodeId)));
  const everyNodeDone = run.order.every((id) => nodes[id]?.status === 'UPGRADED' || nodes[id]?.status === 'SKIPPED');
  // Prepared: every node that is not skipped has its package downloaded and verified.
  const everyNodeStaged = run.order.every((id) => nodes[id]?.status === 'SKIPPED' || nodes[id]?.status === 'PREPARED');
  const decided = (d: NodeOutcome['decision']) => outcomes.some((o) => o.decision === d && o.rollbackFailed !== true);
  const skippedOnly = outcomes.every((o) => o.decision === undefined || o.decision === 'skip');
  const everyOtherNodeDone = run.order.every((id) => ['UPGRADED', 'SKIPPED', 'ROLLED_BACK'].includes(nodes[id]?.status ?? ''));
  // A pause past its limit, abort after the canary or on a health alarm, stops the run as abort does (core/pause.ts, canary.ts, health.ts).
  const pausedOut = args.pause?.state === 'EXPIRED' || args.canary?.decision === 'abort' || args.health?.decision === 'abort';
  let status: RunStatus;
  if (outcomes.some((o) => o.rollbackFailed === true)) status = 'FAILED';
  else if (decided('abort') || pausedOut) status = 'ABORTED';
  else if (decided('rollback')) status = 'ROLLED_BACK';
  else if (
    cutoffStatus(
      args.cutoff,
      run.order.map((id) => nodes[id]?.status),
      skippedOnly,
    ) !== null
  )
    status = 'INCOMPLETE';
  else if (decided('skip') && skippedOnly && everyOtherNodeDone && args.caught === undefined) status = 'PARTIAL';
  else if (failure !== null) status = 'FAILED';
  else if (run.prepareOnly === true) status = everyNodeStaged ? 'PREPARED' : 'FAILED';
  else status = everyNodeDone ? 'SUCCEEDED' : 'FAILED';
  return {
    status,
    runId: run.runId,
    cluster: run.cluster,
    targetVersion: run.targetVersion,
    order: run.order,
    nodes,
    counts,
    maintenanceMode: {
      node: run.coreNode,
      enabledAt: cluster('maintenance-on')?.finishedAt ?? null,
      disabledAt: cluster('maintenance-off')?.finishedAt ?? null,
    },
    lockReleased: args.lockReleased,
    failure:
      pausedOut && (failure === null || failure.node === null)
        ? args.health?.decision === 'abort'
          ? {
              node: null,
              step: null,
              error: 'HealthAlarm',
              message: args.stopReason ?? 'the run stopped: abort decided on a health alarm',
              exitCode: null,
              outputTail: '',
            }
          : args.canary?.decision === 'abort'
            ? {
                node: null,
                step: null,
                error: 'CanaryAborted',
                message: args.stopReason ?? 'the run stopped: abort decided after the canary',
                exitCode: null,
                outputTail: '',
              }
            : {
                node: null,
                step: null,
                error: 'PauseLimitPassed',
                message: args.stopReason ?? 'the run stopped: its pause passed its limit',
                exitCode: null,
                outputTail: '',
              }
        : status === 'INCOMPLETE' && args.cutoff !== undefined
          ? { node: args.cutoff.nodeId, step: null, error: 'WindowCutoff', message: args.cutoff.reason, exitCode: null, outputTail: '' }
          : status !== 'SUCCEEDED' && status !== 'PREPARED' && failure === null
            ? {
                node: null,
                step: null,
                error: 'Incomplete',
                message: `the run ended before every node was ${run.prepareOnly === true ? 'prepared' : 'upgraded'}`,
                exitCode: null,
                outputTail: '',
              }
            : failure,
    warnings,
    ...(run.notInRun?.length ? { notInRun: run.notInRun } : {}),
    ...(args.held?.length
      ? {
          held: args.held.map((h) => ({
            ...heldReport(h, args.finishedAt),
            started: nodes[h.nodeId] !== undefined && nodes[h.nodeId]?.status !== 'NOT_STARTED',
          })),
        }
      : {}),
    ...(args.pause ? { pause: args.pause } : {}),
    ...(args.canary ? { canary: args.canary } : {}),
    ...(args.health ? { health: args.health } : {}),
    ...(args.cutoff !== undefined ? { cutoff: args.cutoff } : {}),
    startedAt: run.startedAt,
    finishedAt: args.finishedAt,
  };
}

/** What a compacted summary left out: the full per-node detail stays in DynamoDB (`RUN#<id>` items). */
export interface SummaryTruncation {
  nodes: number;
  nodesShown: number;
  warnings: number;
  note: string;
}

/**
 * A summary that fits where it must go: the execution's output and the RUN item are limited (256 KiB,
 * 400 KB). Under `maxBytes` it is returned whole; above, it keeps the counts, the failure and the nodes
 * that did not end well (up to 100, with their steps), and says what it left out.
 */
export function compactSummary(summary: Summary, maxBytes = 200_000): Summary & { truncated?: SummaryTruncation } {
  if (new TextEncoder().encode(JSON.stringify(summary)).length <= maxBytes) return summary;
  const notFine = summary.order.filter((id) => !['UPGRADED', 'SKIPPED', 'PREPARED'].includes(summary.nodes[id]?.status ?? '')).slice(0, 100);
  const nodes = Object.fromEntries(notFine.map((id) => [id, summary.nodes[id] as NodeSummary]));
  return {
    ...summary,
    order: notFine,
    nodes,
    warnings: summary.warnings.slice(0, 100),
    ...(summary.held ? { held: summary.held.slice(0, 100) } : {}),
    ...(summary.notInRun ? { notInRun: summary.notInRun.slice(0, 100) } : {}),
    truncated: {
      nodes: summary.order.length,
      nodesShown: notFine.length,
      warnings: summary.warnings.length,
      note: `too large for the execution output: shows the nodes that did not end well; every node's outcome and steps are in DynamoDB under RUN#${summary.runId}`,
    },
  };
}
