import type { RunContext } from '../../core/run-context.js';
import { STEP_TIMEOUT_SECONDS, type StepId } from '../../core/steps.js';
import { failureIgnored } from '../../core/step-result.js';
import type { FleetStore, PendingCommand } from '../../adapters/store.js';

export interface RunStepEvent {
  taskToken: string;
  step: StepId;
  node: { id: string };
  run: RunContext;
}

export interface RunStepResult {
  commandId: string;
  /** How this invocation served the task: a new command, or the one an earlier attempt of the step started. */
  served: 'sent' | 'adopted' | 'reconciled' | 'stored-result' | 'unresponsive';
}

/**
 * A step's execution timeout on the node. STEP_TIMEOUT_CAP_SECONDS (rehearsals, tests) shortens the steps
 * STEP_TIMEOUT_CAP_STEPS names (comma-separated), or every step when it names none.
 */
export function stepTimeoutSeconds(step: StepId): number {
  const cap = Number(process.env.STEP_TIMEOUT_CAP_SECONDS ?? '');
  const steps = (process.env.STEP_TIMEOUT_CAP_STEPS ?? '').split(',').filter(Boolean);
  const capped = Number.isFinite(cap) && cap >= 1 && (steps.length === 0 || steps.includes(step));
  return capped ? Math.min(STEP_TIMEOUT_SECONDS[step], Math.floor(cap)) : STEP_TIMEOUT_SECONDS[step];
}

/** Records the step's command (with the task token its completion answers) and points the checkpoint at it. */
export async function recordCommand(store: FleetStore, event: RunStepEvent, commandId: string, sentAt: Date, timeout: number): Promise<PendingCommand> {
  const command: PendingCommand = {
    commandId,
    taskToken: event.taskToken,
    runId: event.run.runId,
    cluster: event.run.cluster,
    nodeId: event.node.id,
    step: event.step,
    targetVersion: event.run.targetVersion,
    ignoreFailure: failureIgnored(event.step, event.run.ignoreInspectFailures),
    sentAt: sentAt.toISOString(),
    timeoutSeconds: timeout,
    // Keep the token a day past the step's own timeout, then let TTL remove it.
    ttl: Math.floor(sentAt.getTime() / 1000) + timeout + 86_400,
  };
  await store.recordCommand(command);
  return command;
}
