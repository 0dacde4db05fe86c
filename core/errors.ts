/**
 * Errors are values with names: each carries the facts an operator needs, and `name` (the class's own name)
 * is what Step Functions matches in Catch/Retry.
 */

/** The execution input (or CLI flags) did not match the contract; nothing has been touched. */
export class InputValidationError extends Error {
  constructor(
    message: string,
    /** Dotted path of the offending field, e.g. `nodes[2].id`. */
    public readonly field: string,
  ) {
    super(message);
    this.name = 'InputValidationError';
  }
}

/** Another run holds the cluster lock. */
export class ClusterLockedError extends Error {
  constructor(
    public readonly cluster: string,
    public readonly heldBy: string,
    public readonly expiresAt: string,
    now: Date = new Date(),
  ) {
    super(
      Date.parse(expiresAt) < now.getTime()
        ? `cluster ${cluster} is locked by run ${heldBy}, which stopped renewing the lock (expired ${expiresAt}; it may have crashed). ` +
            `Check it (fleet-upgrade status ${heldBy}), then break the lock explicitly: fleet-upgrade unlock --cluster ${cluster} --run ${heldBy}`
        : `cluster ${cluster} is locked by run ${heldBy} (renewed until ${expiresAt}); wait for it to finish, or stop it: fleet-upgrade stop ${heldBy}`,
    );
    this.name = 'ClusterLockedError';
  }
}

/** The upgrade cannot be planned (no nodes, no core node, …). */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

/**
 * The error a node step's failure carries through the state machine (run-step's result, the summary's failure,
 * the restore retry's matcher): one name, said in one place.
 */
export const STEP_FAILED = 'StepFailed';

/** Nodes failed their checks (self-update, version check, download) before the window: nothing was changed. */
export class NodeCheckFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeCheckFailed';
  }
}

/** The window cutoff (notAfter) leaves no time for the first node: the window does not open (the run ends INCOMPLETE). */
export class WindowCutoff extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WindowCutoff';
  }
}

/** A group stops the run when one of its nodes marked it stopping (after its in-flight nodes finished). */
export class RunStopped extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunStopped';
  }
}
