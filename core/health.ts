/**
 * Health gates (input `healthAlarms`, `--health-alarm NAME`): CloudWatch alarms read before each node starts
 * and after it finishes (after `bakeSeconds` of watching). An alarm in ALARM that nobody has continued past
 * stops new nodes from starting and asks the operator `continue` (go on despite it) or `abort`.
 */

/** What an operator can decide about a firing alarm. */
export const HEALTH_DECISIONS = ['continue', 'abort'] as const;
export type HealthDecision = (typeof HEALTH_DECISIONS)[number];

export function isHealthDecision(value: unknown): value is HealthDecision {
  return typeof value === 'string' && (HEALTH_DECISIONS as readonly string[]).includes(value);
}

/** What each decision does, as the approval page, the email and the CLI explain it. */
export const HEALTH_DECISION_HELP: Record<HealthDecision, string> = {
  continue: 'Go on despite the alarm: the held nodes start; these alarms do not stop the run again (a new alarm does).',
  abort:
    'Stop the run here: nodes already upgraded stay at the target, no other node starts; maintenance mode goes off and the lock is released (the run ends ABORTED).',
};

/** CloudWatch alarm names: 1–255 printable characters (no control characters). */
export const ALARM_NAME_PATTERN = /^[\x20-\x7e]{1,255}$/;
/** DescribeAlarms takes at most 100 names per call; a run names at most this many. */
export const MAX_HEALTH_ALARMS = 100;
/** The longest bake after each node. */
export const MAX_BAKE_SECONDS = 3600;

/** An alarm that stops the gate, with why. */
export interface FiringAlarm {
  name: string;
  reason: string;
}

/**
 * The run's health question as recorded (`RUN#id` / `HEALTH`): the alarms of the last question, their reasons,
 * the nodes changed since the gate last passed, and the operator's decision (absent: the question is open).
 */
export interface HealthState {
  alarms: FiringAlarm[];
  changedSince: string[];
  /** Alarms an operator continued past: they no longer stop the run. */
  acknowledged: string[];
  askedBy?: string;
  decision?: HealthDecision;
  lastPassAt?: string;
}

/** What DescribeAlarms answered, as far as the gate needs it. */
export interface DescribedAlarms {
  metric: { name: string; state: string; reason?: string }[];
  composite: { name: string; state: string; reason?: string }[];
}

/**
 * Which of `names` stop the gate: those in ALARM, with their StateReason, and those that do not exist (a typo
 * must not pass silently). INSUFFICIENT_DATA does not stop it: an alarm with no data says nothing is wrong.
 */
export function alarmsFiring(described: DescribedAlarms, names: readonly string[]): FiringAlarm[] {
  const found = new Map([...described.metric, ...described.composite].map((a) => [a.name, a]));
  return names.flatMap((name): FiringAlarm[] => {
    const alarm = found.get(name);
    if (alarm === undefined) return [{ name, reason: 'no such alarm in CloudWatch (check the name and the region)' }];
    return alarm.state === 'ALARM' ? [{ name, reason: alarm.reason ?? 'in ALARM' }] : [];
  });
}

/** Whether a question is open: asked, not decided yet. */
export function healthQuestionOpen(state: HealthState | null): boolean {
  return state !== null && state.askedBy !== undefined && state.decision === undefined;
}

/** What the gate does about the alarms for a node that could otherwise start. */
export type HealthGate = { kind: 'go' } | { kind: 'held'; waitingFor: string[] } | { kind: 'ask'; alarms: FiringAlarm[] } | { kind: 'stop' };

/**
 * An abort decided: stop. An open question: held. Alarms firing that nobody continued past: ask (the one node
 * whose conditional write wins asks; the others are held). Otherwise: go.
 */
export function healthGate(state: HealthState | null, firing: readonly FiringAlarm[]): HealthGate {
  if (state?.decision === 'abort') return { kind: 'stop' };
  if (healthQuestionOpen(state)) return { kind: 'held', waitingFor: [state?.askedBy ?? 'the health question'] };
  const acknowledged = new Set(state?.acknowledged ?? []);
  const fresh = firing.filter((a) => !acknowledged.has(a.name));
  return fresh.length > 0 ? { kind: 'ask', alarms: fresh } : { kind: 'go' };
}

/** Held nodes stay held while the health question is open. */
export function healthKeepsHeld(state: HealthState | null, stopping: boolean): boolean {
  return !stopping && healthQuestionOpen(state);
}

/** The nodes whose outcome was recorded since the gate last passed (all of them when it never passed): the evidence. */
export function nodesChangedSince(lastPassAt: string | undefined, outcomes: readonly { nodeId: string; status: string; at: string }[]): string[] {
  const since = lastPassAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(lastPassAt);
  return outcomes
    .filter((o) => o.status !== 'SKIPPED' && Date.parse(o.at) >= since)
    .map((o) => o.nodeId)
    .sort();
}

/** The health gate as the summary reports it. */
export interface HealthReport {
  alarms: string[];
  firing?: FiringAlarm[];
  decision?: HealthDecision;
  decidedBy?: string;
  byTimeout?: boolean;
}

/** The gate's answer when this node asks the health question (the workflow routes it to the question, then back to the gate). */
export interface HealthAskAnswer {
  go: false;
  askHealth: true;
  alarms: string[];
}

/** The summary's account of the health gate from its record (null: no alarm ever fired). */
export function healthReport(alarms: readonly string[], state: (HealthState & { decidedBy?: string; byTimeout?: boolean }) | null): HealthReport {
  return {
    alarms: [...alarms],
    ...(state !== null && state.alarms.length > 0 ? { firing: state.alarms } : {}),
    ...(state?.decision !== undefined ? { decision: state.decision } : {}),
    ...(state?.decidedBy !== undefined ? { decidedBy: state.decidedBy } : {}),
    ...(state?.byTimeout !== undefined ? { byTimeout: state.byTimeout } : {}),
  };
}
