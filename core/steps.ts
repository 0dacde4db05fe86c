/** Step ids: the same everywhere — runbook scripts, state names' keys, `--fail NODE:STEP`, summaries, DynamoDB. */
export const STEP_IDS = [
  'self-update',
  'version-check',
  'pre-upgrade-validation',
  'download',
  'retire',
  'backup',
  'upgrade',
  'restart',
  'post-upgrade-validation',
  'rollback',
  'maintenance-on',
  'maintenance-off',
] as const;

export type StepId = (typeof STEP_IDS)[number];

/** Steps that act on the cluster as a whole (run on the core node), not on a node's own upgrade. */
export const CLUSTER_STEPS: readonly StepId[] = ['maintenance-on', 'maintenance-off'];

/** Steps a node goes through, in order (retire applies to dea nodes only): every step but rollback and the cluster steps. */
export const NODE_PIPELINE: readonly StepId[] = STEP_IDS.filter((s) => s !== 'rollback' && !CLUSTER_STEPS.includes(s));

/** The pipeline's steps that may drain or change what a node serves: from retire on. The ones before only read or stage. */
export const CHANGES_NODE_STEPS: readonly StepId[] = NODE_PIPELINE.slice(NODE_PIPELINE.indexOf('retire'));

/** The state names an operator reads in the console's execution view. */
export const STEP_STATE_NAMES: Record<StepId, string> = {
  'self-update': 'Self-update',
  'version-check': 'Check version',
  'pre-upgrade-validation': 'Pre-upgrade validation',
  download: 'Download and verify',
  retire: 'Retire node',
  backup: 'Back up state',
  upgrade: 'Upgrade',
  restart: 'Restart',
  'post-upgrade-validation': 'Post-upgrade validation',
  rollback: 'Roll back',
  'maintenance-on': 'Enable maintenance mode',
  'maintenance-off': 'Disable maintenance mode',
};

/** Two-digit position of a step, used in checkpoint sort keys so they sort in pipeline order. */
export function stepNumber(step: StepId): string {
  return String(STEP_IDS.indexOf(step)).padStart(2, '0');
}

export function isStepId(value: string): value is StepId {
  return (STEP_IDS as readonly string[]).includes(value);
}

/** How long a step may run on a node before it counts as failed (the SSM document's execution timeout). */
export const STEP_TIMEOUT_SECONDS: Record<StepId, number> = {
  'self-update': 300,
  'version-check': 120,
  'pre-upgrade-validation': 600,
  download: 1800,
  retire: 900,
  backup: 1800,
  upgrade: 1800,
  restart: 600,
  'post-upgrade-validation': 600,
  rollback: 1800,
  'maintenance-on': 300,
  'maintenance-off': 300,
};

/**
 * Seconds SSM may take to deliver a step's command to its node (SendCommand's TimeoutSeconds): a command
 * that has not started by then never runs (DeliveryTimedOut). An online node's agent takes it within
 * seconds; two minutes ride out an agent restart, and an offline node fails its step in two minutes
 * rather than after the step's whole execution time. The script's own limit is the execution timeout.
 */
export const COMMAND_DELIVERY_TIMEOUT_SECONDS = 120;

/** SendCommand's delivery timeout for a step that may run `executionSeconds`: never longer than the step (rehearsals cap steps to seconds). */
export function deliveryTimeoutSeconds(executionSeconds: number): number {
  return Math.min(COMMAND_DELIVERY_TIMEOUT_SECONDS, executionSeconds);
}

/**
 * Seconds after it was sent when a command still "in progress" has lost its node: a command starts within
 * its delivery timeout or never, and SSM stops a script at its execution timeout and reports TimedOut, so
 * past both plus a margin (30 s, less for short timeouts) nobody is left to report.
 */
export function unresponsiveAfterSeconds(timeoutSeconds: number): number {
  return deliveryTimeoutSeconds(timeoutSeconds) + timeoutSeconds + Math.min(30, Math.ceil(timeoutSeconds / 4));
}

/** Steps inside the maintenance window, in order: what a failure there asks the operator about, and what `retry` re-runs. */
export const WINDOW_STEPS: readonly StepId[] = NODE_PIPELINE.filter((s) => !['self-update', 'version-check', 'download'].includes(s));
