import type { RunContext } from '../../core/run-context.js';
import { isStepId } from '../../core/steps.js';
import type { CaughtError, StepCheckpoint } from '../../core/summary.js';
import type { FleetStore } from '../../adapters/store.js';

/**
 * The checkpoint of the window step that failed on `nodeId`: the one the state machine named, or else the
 * failed (or still running) one. A step that never reported (run-step crashed, or the task timed out) gets the
 * error the state machine caught as its result, recorded so the summary and `status` say what failed.
 */
export async function failedCheckpoint(
  store: FleetStore,
  event: { run: RunContext; node: { id: string }; failedStep?: string; error?: CaughtError },
  mine: readonly StepCheckpoint[],
  now: Date,
): Promise<StepCheckpoint | undefined> {
  const named = typeof event.failedStep === 'string' && isStepId(event.failedStep) ? event.failedStep : undefined;
  const failed =
    named !== undefined
      ? mine.find((c) => c.step === named)
      : // A step that timed out has no final checkpoint: the still-RUNNING one is the failed step.
        (mine.find((c) => c.status === 'FAILED' && c.step !== 'rollback') ?? mine.find((c) => c.status === 'RUNNING'));
  if (named === undefined || failed?.status === 'FAILED') return failed;
  const caught = `${event.error?.Error ?? 'error'}: ${event.error?.Cause ?? 'the step did not report a result'}`.slice(0, 2000);
  const recorded: StepCheckpoint = {
    nodeId: event.node.id,
    step: named,
    status: 'FAILED',
    exitCode: null,
    warnings: [],
    outputTail: caught,
    startedAt: failed?.startedAt ?? now.toISOString(),
    finishedAt: now.toISOString(),
    ...(failed?.commandId !== undefined ? { commandId: failed.commandId } : {}),
    ...(failed?.earlierAttempts?.length ? { earlierAttempts: failed.earlierAttempts } : {}),
  };
  await store.putCheckpoint(event.run.runId, recorded);
  return recorded;
}
