import type { DeciderIdentity } from './approvers.js';
import type { StepId } from './steps.js';
import { CANARY_DECISIONS, CANARY_DECISION_HELP, type CanaryDecision } from './canary.js';
import { HEALTH_DECISIONS, HEALTH_DECISION_HELP, type FiringAlarm } from './health.js';

/** What an operator can decide after a node's step failed. */
export const DECISIONS = ['rollback', 'retry', 'skip', 'abort'] as const;
export type Decision = (typeof DECISIONS)[number];

export function isDecision(value: unknown): value is Decision {
  return typeof value === 'string' && (DECISIONS as readonly string[]).includes(value);
}

/** What each decision does, as the approval page and the CLI explain it. */
export const DECISION_HELP: Record<Decision, string> = {
  rollback: 'Restore this node (previous release, backed-up state, restart, validation) and stop the run.',
  retry: 'Run the failed step again on this node, then continue.',
  skip: 'Restore this node, leave it at its old version, and continue with the remaining nodes (the run ends PARTIAL).',
  abort: 'Stop now without touching this node; it is marked NEEDS_ATTENTION.',
};

/** Any decision an approval may take: a failed node's, or the canary's. */
export type AnyDecision = Decision | CanaryDecision;

export function isAnyDecision(value: unknown): value is AnyDecision {
  return isDecision(value) || (typeof value === 'string' && (CANARY_DECISIONS as readonly string[]).includes(value));
}

/** The kinds of question besides a failed node's: the canary's, and a firing health alarm's (both continue or abort). */
export type ApprovalKind = 'canary' | 'health';

/** The choices an approval offers: a failed node's four, or continue and abort (the canary, a health alarm). */
export function offeredDecisions(a: { kind?: ApprovalKind }): readonly AnyDecision[] {
  if (a.kind === 'health') return HEALTH_DECISIONS;
  return a.kind === 'canary' ? CANARY_DECISIONS : DECISIONS;
}

/** What a decision does, for the kind of question it answers. */
export function decisionHelp(a: { kind?: ApprovalKind }, d: AnyDecision): string {
  if (a.kind === 'health') return (HEALTH_DECISION_HELP as Record<string, string | undefined>)[d] ?? d;
  if (a.kind === 'canary') return (CANARY_DECISION_HELP as Record<string, string | undefined>)[d] ?? d;
  return (DECISION_HELP as Record<string, string | undefined>)[d] ?? d;
}

/** Path of the approval page under its API (and on the local approval server). */
export const APPROVAL_PAGE_PATH = '/approval';

/** Where the identity provider sends an approver back after sign-in (the redirect URI to register). */
export const APPROVAL_CALLBACK_PATH = `${APPROVAL_PAGE_PATH}/callback`;

/** An approval id names the request in links and the CLI; the task token never leaves DynamoDB. */
export const APPROVAL_ID_PATTERN = /^[a-z0-9-]{8,64}$/;

/** The evidence an operator decides on: in the email, on the page, in `fleet-upgrade approvals`. */
export interface ApprovalRequest {
  /** `canary`: the canary nodes are upgraded; continue or abort (nodeId: the node that completed the canary). Absent: a failed node. */
  kind?: ApprovalKind;
  /** `health`: the alarms that stopped the gate, with their StateReason (untrusted: alarm text), and the nodes changed since it last passed. */
  alarms?: FiringAlarm[];
  changedSince?: string[];
  approvalId: string;
  runId: string;
  cluster: string;
  nodeId: string;
  roles: string[];
  failedStep: StepId;
  exitCode: number | null;
  outputTail: string;
  /** The node's version before this run, and the target. */
  from: string | null;
  to: string;
  /** The backup the rollback restores (named for the run on the node), or null when none was taken yet. */
  backupId: string | null;
  /** Nodes this run already upgraded. */
  upgraded: string[];
  /** Nodes in the middle of their upgrade: they finish their current node while the operator decides. */
  inFlight?: string[];
  /** Nodes not started yet: held until the decision (none starts while the question is open). */
  held?: string[];
  createdAt: string;
  /** When the link stops working and `onTimeout` decides (ISO time). */
  expiresAt: string;
  onTimeout: 'rollback' | 'abort';
}

/**
 * When an approval stops taking decisions: the waiting task's own deadline, counted from when Step Functions
 * entered "Ask operator" (the task's timer starts no earlier), because the function's clock starts later and
 * a link that outlives the task would take a decision the run never applies. Without an entry time (a direct
 * invocation) the function's clock is all there is; of the two clocks, the earlier start wins.
 */
export function approvalDeadline(timeoutSeconds: number, now: Date, enteredAt?: string): Date {
  const entered = enteredAt === undefined ? Number.NaN : Date.parse(enteredAt);
  const start = Number.isNaN(entered) ? now.getTime() : Math.min(entered, now.getTime());
  return new Date(start + timeoutSeconds * 1000);
}

/** Node names for evidence in text (email, CLI): up to `max`, then how many more; `none` when empty. */
export function nodeNames(ids: readonly string[], max = 20): string {
  if (ids.length === 0) return 'none';
  return ids.length <= max ? ids.join(', ') : `${ids.slice(0, max).join(', ')} and ${ids.length - max} more`;
}

/** How it was decided: what the state machine receives as the approval task's output. */
export interface ApprovalDecision {
  /** A failed node's decision, or the canary's (`continue` / `abort`). */
  decision: AnyDecision;
  decidedBy: string;
  decidedAt: string;
  byTimeout: boolean;
  /** Who signed in to decide on the approval page (issuer, subject, email); absent without sign-in. */
  decidedIdentity?: DeciderIdentity;
}

/** No decision in time: `decision` applies (onTimeout, or abort for a continue-or-abort question), recorded as decided by timeout. */
export function decidedByTimeout(decision: AnyDecision, now: Date): ApprovalDecision {
  return { decision, decidedBy: 'timeout', decidedAt: now.toISOString(), byTimeout: true };
}

/** The question a timeout closes: the latest approval still waiting about this node of this run. */
export function latestOpenApproval<T extends { runId: string; nodeId: string }>(pending: readonly T[], runId: string, nodeId: string): T | undefined {
  return pending.filter((a) => a.runId === runId && a.nodeId === nodeId).at(-1);
}
