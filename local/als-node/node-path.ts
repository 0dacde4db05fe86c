/** The folder of the simulated ALS node's `kato` (local/als-node/kato). */
export const ALS_NODE_DIR = import.meta.dirname;

/**
 * The sandbox nodes' PATH for a runbook, after the caller's own folders (`first`): the kato runbook drives ALS
 * nodes, so each sandbox gets the simulated node's `kato`; the release-dir runbook uses only the machine's tools.
 */
export function sandboxPath(runbook: string, first: readonly string[] = []): string {
  return [...first, ...(runbook === 'kato' ? [ALS_NODE_DIR] : []), process.env.PATH ?? '/usr/bin:/bin'].join(':');
}

/** What the sandboxes are, for the rehearsal's progress. */
export function sandboxKind(runbook: string): string {
  return runbook === 'kato' ? 'sandbox nodes (simulated ALS nodes, local/als-node/kato)' : 'sandbox nodes';
}
