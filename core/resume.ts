import { InputValidationError } from './errors.js';
import type { Interrupted } from './state-plan.js';
import type { StepId } from './steps.js';
import type { NodeOutcome, RunInfo, StepCheckpoint } from './summary.js';

/** The run named by `resumeFrom`, once it is known to exist and to have stopped: anything else is bad input, refused before anything is recorded. */
export function resumableRun<T extends { status: string }>(cluster: string, previousRunId: string, previous: T | null): T {
  if (previous === null) throw new InputValidationError(`resumeFrom: run ${previousRunId} of cluster ${cluster} was not found`, 'resumeFrom');
  if (previous.status === 'RUNNING')
    throw new InputValidationError(`resumeFrom: run ${previousRunId} is still running; resume a run that stopped`, 'resumeFrom');
  return previous;
}

/**
 * Nodes an earlier run left mid-window (interrupted, aborted, stopped) resume from the step their checkpoints
 * say is safe. Upgraded but never validated: they run the new release, so they restart from `restart` — never
 * from backup, which would back up the new release as the old one. Retired (drained) but not switched: they
 * still run the old release, drained, so pre-upgrade validation would fail and retire repeat; they go on from
 * `backup` (backups are kept per run: this run's upgrade and rollback need their own). Nodes the earlier run
 * upgraded, rolled back or never changed need nothing special: the version check decides for them.
 */
export function interruptedNodes(
  previous: Pick<RunInfo, 'order' | 'plannedFrom'>,
  checkpoints: readonly StepCheckpoint[],
  outcomes: readonly NodeOutcome[],
): Map<string, Interrupted> {
  // One pass over each list (a run may hold thousands of nodes and tens of thousands of checkpoints).
  const settled = new Set(outcomes.filter((o) => o.status === 'UPGRADED' || o.status === 'ROLLED_BACK' || o.status === 'SKIPPED').map((o) => o.nodeId));
  const succeeded = (step: StepId) => new Set(checkpoints.filter((c) => c.step === step && c.status === 'SUCCEEDED').map((c) => c.nodeId));
  const [switched, retired, rolledBack] = [succeeded('upgrade'), succeeded('retire'), succeeded('rollback')];
  const fromOf = new Map(outcomes.map((o) => [o.nodeId, o.from]));
  const resumeStep = (id: string): StepId | undefined => {
    // Rolled back (by the run or by its cleanup): back at its old release and in service; the version check decides.
    if (settled.has(id) || rolledBack.has(id)) return undefined;
    if (switched.has(id)) return 'restart';
    return retired.has(id) ? 'backup' : undefined;
  };
  const resumed = new Map<string, Interrupted>();
  for (const id of previous.order) {
    const step = resumeStep(id);
    if (step !== undefined) resumed.set(id, { step, from: fromOf.get(id) ?? previous.plannedFrom[id] ?? null });
  }
  return resumed;
}
