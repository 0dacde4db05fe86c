import { CLUSTER_PATTERN } from './input-schema.js';

/** The EventBridge event "Step Functions Execution Status Change" (fields we use). */
export interface ExecutionStatusChangeEvent {
  'detail-type'?: string;
  source?: string;
  detail: {
    executionArn: string;
    name: string;
    status: string;
    /** The execution input, as a JSON string. */
    input?: string | null;
    /** The error and cause the execution ended with (FAILED: `States.DataLimitExceeded`, …; a stop's own). */
    error?: string | null;
    cause?: string | null;
  };
}

/** The cluster an execution's input names, if it names a valid one. */
export function clusterOf(input: string | null | undefined): string | null {
  try {
    const cluster = (JSON.parse(input ?? 'null') as { cluster?: unknown } | null)?.cluster;
    return typeof cluster === 'string' && CLUSTER_PATTERN.test(cluster) ? cluster : null;
  } catch {
    return null;
  }
}

/**
 * Execution statuses after which the stop rule invokes run-stopped: StopExecution (ABORTED) and the execution
 * timeout end a run at once, without its catch paths, and so does a failure no Catch takes (FAILED:
 * States.DataLimitExceeded, States.Runtime, a catch path that failed itself). A FAILED run whose own failure
 * path finished has its summary recorded, and run-stopped then changes nothing.
 */
export const ENDED_WITHOUT_CLEANUP: readonly string[] = ['ABORTED', 'TIMED_OUT', 'FAILED'];

/** How a run that ended without its cleanup is told: the summary's error and cause, and who closed its approvals. */
export interface EndedWithoutCleanup {
  error: string;
  cause: string;
  decidedBy: string;
}

/** The story of an execution that ended `status` (one of ENDED_WITHOUT_CLEANUP), from its status-change event. */
export function endedWithoutCleanup(status: string, error: string | null | undefined, cause: string | null | undefined): EndedWithoutCleanup {
  const said = cause ? `: ${cause}` : '';
  if (status === 'ABORTED') return { error: 'ExecutionAborted', cause: `the execution was stopped${said}`, decidedBy: 'the run was stopped' };
  if (status === 'TIMED_OUT') return { error: 'ExecutionTimedOut', cause: `the execution was timed out${said}`, decidedBy: 'the run was timed out' };
  // The execution's own error (States.DataLimitExceeded, ...) names what ended it.
  return { error: error || 'ExecutionFailed', cause: `the execution failed${error ? ` with ${error}` : ''}${said}`, decidedBy: 'the run failed' };
}
