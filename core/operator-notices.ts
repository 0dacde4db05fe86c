import type { OperatorEmail } from './approval-email.js';
import type { RunContext } from './run-context.js';
import type { CaughtError, StepCheckpoint } from './summary.js';
import { fenceUntrusted } from './untrusted-text.js';

type Run = Pick<RunContext, 'runId' | 'cluster'>;

/** A rollback failed: the node needs a person (the second email about it; the first asked what to do). */
export function rollbackFailedEmail(run: Run, nodeId: string, error: CaughtError | undefined): OperatorEmail {
  return {
    subject: `fleet-upgrade: ROLLBACK FAILED on ${nodeId} (${run.cluster})`,
    message: [
      `The rollback of node ${nodeId} in cluster ${run.cluster} (run ${run.runId}) failed.`,
      'The node is marked NEEDS_ATTENTION: its version and state must be checked by hand.',
      'Maintenance mode is switched off and the cluster lock released as the run ends.',
      '',
      'What the state machine caught (it may quote the node):',
      fenceUntrusted(`${error?.Error ?? 'error'}: ${error?.Cause ?? ''}`),
    ].join('\n'),
  };
}

/** Maintenance-off failed past its retries on the core node: someone must switch it off by hand. */
export function maintenanceStillOnEmail(run: Run, coreNode: string, failed: Pick<StepCheckpoint, 'exitCode' | 'outputTail'> | null): OperatorEmail {
  return {
    subject: `fleet-upgrade: MAINTENANCE MODE STILL ON in ${run.cluster} (${coreNode})`,
    message: [
      `Maintenance mode could not be switched off on the core node ${coreNode} of cluster ${run.cluster} (run ${run.runId}):`,
      "the runbook's maintenance-off step failed on every attempt. The cluster stays in maintenance until someone switches it off by hand.",
      'The cluster lock is released as the run ends; the nodes are where the run summary says.',
      '',
      `Exit code: ${failed?.exitCode ?? 'none'}`,
      'Last output of the step, as the node wrote it:',
      fenceUntrusted(failed?.outputTail ?? 'no output recorded'),
    ].join('\n'),
  };
}

/** onFailure rollback-and-continue spent its budget: nobody was asked, so the operators hear that the run stopped. */
export function failureBudgetSpentEmail(run: Run, nodeId: string, step: string, max: number): OperatorEmail {
  return {
    subject: `fleet-upgrade: FAILURE BUDGET SPENT on ${nodeId} (${run.cluster})`,
    message: [
      `${step} failed on node ${nodeId} in cluster ${run.cluster} (run ${run.runId}) after the failure budget of ${max} was spent (onFailure rollback-and-continue).`,
      'The run stops as abort does: the node was left as it was and is marked NEEDS_ATTENTION; its version and state must be checked by hand.',
      'Nodes in flight finish their current node, no further node starts, maintenance mode is switched off and the cluster lock released.',
      `Carry on once it is fixed: fleet-upgrade start ... --resume-from ${run.runId}`,
    ].join('\n'),
  };
}
