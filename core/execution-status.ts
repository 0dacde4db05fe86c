/** Execution statuses that end a run at once, without its catch paths (StopExecution, the execution timeout). */
export const ENDED_WITHOUT_CLEANUP: readonly string[] = ['ABORTED', 'TIMED_OUT'];
