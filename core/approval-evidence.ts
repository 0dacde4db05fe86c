import { approvalDeadline, type ApprovalRequest } from './approval.js';
import type { FiringAlarm } from './health.js';
import type { RunContext } from './run-context.js';
import { isStepId } from './steps.js';
import type { CaughtError, NodeOutcome, StepCheckpoint } from './summary.js';

/** A node of the run as planned, as far as the evidence needs it: `startedAt` once the gate let it start. */
export interface PlannedFacts {
  nodeId: string;
  roles: string[];
  startedAt?: string;
}

/** What every question about a run shares: its id, the run, the node it is about, and when it was asked. */
export interface QuestionFacts {
  approvalId: string;
  run: Pick<RunContext, 'runId' | 'cluster' | 'targetVersion' | 'approvalTimeoutSeconds' | 'onTimeout'>;
  nodeId: string;
  planned: readonly PlannedFacts[];
  outcomes: readonly NodeOutcome[];
  now: Date;
  /** When Step Functions entered the waiting state: the deadline counts from it. */
  enteredAt?: string | undefined;
}

/** What the state machine says about the failure it asks about: the step it noted, and the error it caught. */
export interface CaughtFailure {
  nodeId: string;
  failedStep?: string | undefined;
  error?: CaughtError | undefined;
}

/** The failed step's checkpoint; `record` when the step never reported and the checkpoint is to be written. */
export type FailedStep = { checkpoint: StepCheckpoint | undefined; record: false } | { checkpoint: StepCheckpoint; record: true };

/**
 * The checkpoint of the window step that failed on the node: the one the state machine named, or else the failed
 * (or still running) one. A step that never reported (run-step crashed, or the task timed out) gets the error the
 * state machine caught as its result, to be recorded so the summary and `status` say what failed.
 */
export function failedStep(mine: readonly StepCheckpoint[], caught: CaughtFailure, now: string): FailedStep {
  const named = typeof caught.failedStep === 'string' && isStepId(caught.failedStep) ? caught.failedStep : undefined;
  const failed =
    named !== undefined
      ? mine.find((c) => c.step === named)
      : // A step that timed out has no final checkpoint: the still-RUNNING one is the failed step.
        (mine.find((c) => c.status === 'FAILED' && c.step !== 'rollback') ?? mine.find((c) => c.status === 'RUNNING'));
  if (named === undefined || failed?.status === 'FAILED') return { checkpoint: failed, record: false };
  const result = `${caught.error?.Error ?? 'error'}: ${caught.error?.Cause ?? 'the step did not report a result'}`.slice(0, 2000);
  const checkpoint: StepCheckpoint = {
    nodeId: caught.nodeId,
    step: named,
    status: 'FAILED',
    exitCode: null,
    warnings: [],
    outputTail: result,
    startedAt: failed?.startedAt ?? now,
    finishedAt: now,
    ...(failed?.commandId !== undefined ? { commandId: failed.commandId } : {}),
    ...(failed?.earlierAttempts?.length ? { earlierAttempts: failed.earlierAttempts } : {}),
  };
  return { checkpoint, record: true };
}

/** Nodes still finishing their current node (the gate let them start), and nodes that have not started and are held by this question. */
export function whoWaits(planned: readonly PlannedFacts[], failed: string, outcomes: readonly NodeOutcome[]): { inFlight: string[]; held: string[] } {
  const ended = new Set(outcomes.map((o) => o.nodeId));
  const open = planned.filter((p) => p.nodeId !== failed && !ended.has(p.nodeId));
  return {
    inFlight: open.filter((p) => p.startedAt !== undefined).map((p) => p.nodeId),
    held: open.filter((p) => p.startedAt === undefined).map((p) => p.nodeId),
  };
}

/** The fields every question's evidence fills the same way. */
function questionBase(q: QuestionFacts) {
  return {
    approvalId: q.approvalId,
    runId: q.run.runId,
    cluster: q.run.cluster,
    nodeId: q.nodeId,
    roles: q.planned.find((p) => p.nodeId === q.nodeId)?.roles ?? [],
  };
}

const upgradedBy = (outcomes: readonly NodeOutcome[]) => outcomes.filter((o) => o.status === 'UPGRADED').map((o) => o.nodeId);
const deadline = (q: QuestionFacts) => approvalDeadline(q.run.approvalTimeoutSeconds, q.now, q.enteredAt).toISOString();

/**
 * The evidence about a failed node: the failed step and its output from the node's own checkpoints, its version,
 * its backup, and the run's progress from the plan and the outcomes (no other node's checkpoints).
 */
export function failedNodeEvidence(
  q: QuestionFacts & { mine: readonly StepCheckpoint[]; failed: StepCheckpoint | undefined; error?: CaughtError | undefined },
): ApprovalRequest {
  const { failed, error } = q;
  const version = q.mine.find((c) => c.step === 'version-check')?.details?.version;
  return {
    ...questionBase(q),
    failedStep: failed?.step ?? 'upgrade',
    exitCode: failed?.exitCode ?? null,
    outputTail:
      failed?.outputTail ??
      (failed?.status === 'RUNNING' ? `${error?.Error ?? 'no result'}: ${error?.Cause ?? 'the step did not finish in time'}` : (error?.Cause ?? '')),
    from: typeof version === 'string' ? version : null,
    to: q.run.targetVersion,
    backupId: q.mine.some((c) => c.step === 'backup' && c.status === 'SUCCEEDED') ? q.run.runId : null,
    upgraded: upgradedBy(q.outcomes),
    ...whoWaits(q.planned, q.nodeId, q.outcomes),
    createdAt: q.now.toISOString(),
    expiresAt: deadline(q),
    onTimeout: q.run.onTimeout,
  };
}

/**
 * A question about the run, not a failed node (the canary, a health alarm): nothing failed, so the step fields
 * the shape requires say where the run stands (the last node validated), and every upgraded node is listed.
 */
function noFailedStep(q: QuestionFacts): Pick<ApprovalRequest, 'failedStep' | 'exitCode' | 'outputTail' | 'from' | 'to' | 'backupId' | 'upgraded'> {
  return {
    failedStep: 'post-upgrade-validation',
    exitCode: null,
    outputTail: '',
    from: null,
    to: q.run.targetVersion,
    backupId: null,
    upgraded: upgradedBy(q.outcomes),
  };
}

/** The canary's question, asked by the node that completed it: what was upgraded, and every node not ended waits. */
export function canaryEvidence(q: QuestionFacts): ApprovalRequest {
  const ended = new Set(q.outcomes.map((o) => o.nodeId));
  return {
    kind: 'canary',
    ...questionBase(q),
    ...noFailedStep(q),
    inFlight: [],
    held: q.planned.filter((p) => !ended.has(p.nodeId)).map((p) => p.nodeId),
    createdAt: q.now.toISOString(),
    expiresAt: deadline(q),
    onTimeout: 'abort',
  };
}

/** A firing health alarm's question: the alarms and the nodes changed since the gate last passed; the asking node waits with the held ones. */
export function healthEvidence(q: QuestionFacts & { health: { alarms: FiringAlarm[]; changedSince: string[] } | null }): ApprovalRequest {
  const ended = new Set(q.outcomes.map((o) => o.nodeId));
  const open = q.planned.filter((p) => !ended.has(p.nodeId));
  return {
    kind: 'health',
    ...questionBase(q),
    ...noFailedStep(q),
    inFlight: open.filter((p) => p.startedAt !== undefined && p.nodeId !== q.nodeId).map((p) => p.nodeId),
    held: open.filter((p) => p.startedAt === undefined || p.nodeId === q.nodeId).map((p) => p.nodeId),
    alarms: q.health?.alarms ?? [],
    changedSince: q.health?.changedSince ?? [],
    createdAt: q.now.toISOString(),
    expiresAt: deadline(q),
    onTimeout: 'abort',
  };
}
