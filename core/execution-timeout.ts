/** How long one execution of the state machine may run (its TimeoutSeconds); past it, it ends TIMED_OUT. */
export const EXECUTION_TIMEOUT_DAYS = 14;

/**
 * The longest approval wait the input may ask for: half the execution timeout (7 days), so that a run that
 * waits that long for one decision still has a week for its other nodes, rollbacks and a second question.
 */
export const MAX_APPROVAL_TIMEOUT_MINUTES = (EXECUTION_TIMEOUT_DAYS / 2) * 24 * 60;

/** How long a cluster lock lasts unless renewed (each node that starts renews it): 12 hours. */
export const DEFAULT_LOCK_TTL_SECONDS = 43_200;
