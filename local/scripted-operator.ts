import type { FleetStore } from '../adapters/store.js';

/**
 * The scripted operator decides as a person would: after the nodes that were in flight when it was asked have
 * finished their current node (or failed and asked too), and a moment to read; so a rehearsal shows the nodes
 * held meanwhile (and a node started while the question was open would show in the invariants).
 */
export async function inFlightSettled(store: FleetStore, approvalId: string, limitMs = 120_000): Promise<void> {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const deadline = Date.now() + limitMs;
  const approval = await store.getApproval(approvalId);
  const inFlight = approval?.inFlight ?? [];
  if (approval === null || inFlight.length === 0) return;
  while (Date.now() < deadline) {
    // Polled: only the in-flight nodes' outcomes (by key) and the open questions, whatever the size of the run.
    const [outcomes, holds] = await Promise.all([store.nodeOutcomes(approval.runId, inFlight), store.openHolds(approval.runId)]);
    const settled = new Set([...outcomes.map((o) => o.nodeId), ...holds.map((h) => h.nodeId)]);
    if (inFlight.every((id) => settled.has(id))) break;
    await sleep(100);
  }
  await sleep(1_000);
}
