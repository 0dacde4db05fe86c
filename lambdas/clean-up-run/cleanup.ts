import type { EndedWithoutCleanup } from '../../core/execution-status.js';
import { closingDecision, interruptedNodes, maintenanceOffNeeded, rolledBackOutcome, type RolledBackNode } from '../../core/stopped-run.js';
import type { StepOutcome } from '../../core/step-result.js';
import { buildSummary, compactSummary, type Summary } from '../../core/summary.js';
import type { FleetStore } from '../../adapters/store.js';
import { PauseStore } from '../../adapters/pause-store.js';
import { HealthStore } from '../../adapters/health-store.js';
import { Table } from '../../adapters/table.js';
import type { SsmCommandRunner } from '../../adapters/ssm.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { runAndWait, settled, type InvocationTime, type StoredRun } from './step-runner.js';

/** Rolls back each node the stop caught mid-upgrade, once the step it was in has finished, and records its outcome. */
export async function rollBackInterrupted(
  store: FleetStore,
  runner: SsmCommandRunner,
  run: StoredRun,
  context: InvocationTime | undefined,
): Promise<RolledBackNode[]> {
  const { checkpoints, outcomes } = await store.runRecords(run.runId);
  const rolledBack: RolledBackNode[] = [];
  for (const nodeId of interruptedNodes(checkpoints, outcomes)) {
    await settled(store, run.runId, nodeId, context);
    const result = await runAndWait(store, runner, run, nodeId, 'rollback', context);
    const { node, outcome } = rolledBackOutcome(nodeId, result, run.plannedFrom[nodeId], new Date().toISOString());
    rolledBack.push(node);
    await store.recordOutcome(run.cluster, run.runId, run.roles[nodeId] ?? [], outcome);
  }
  return rolledBack;
}

/** Closes what waited on the run, which ended with the execution: its approvals, its questions and the nodes they held, the health gate. */
export async function closeWaits(store: FleetStore, runId: string, ended: EndedWithoutCleanup): Promise<void> {
  for (const approval of (await store.pendingApprovals()).filter((a) => a.runId === runId)) {
    await store.claimApproval(approval.approvalId, closingDecision(ended, new Date().toISOString()));
  }
  const waitsEnded = new Date().toISOString();
  for (const hold of await store.openHolds(runId)) await store.closeHold(runId, hold.nodeId);
  for (const held of await store.heldNodes(runId)) await store.releaseHeldNode(runId, held, waitsEnded);
  await new HealthStore(new Table(documentClient(), requireEnv('TABLE_NAME'))).close(runId, ended.decidedBy, waitsEnded);
}

/** Turns maintenance mode off when the run turned it on (or was turning it on), and waits for the core node to say so. */
export async function turnMaintenanceOff(
  store: FleetStore,
  runner: SsmCommandRunner,
  run: StoredRun,
  context: InvocationTime | undefined,
): Promise<'not-needed' | StepOutcome> {
  // No core node (the run never planned one): no maintenance-on checkpoint to read.
  if (run.coreNode === '' || (await store.getCheckpoint(run.runId, run.coreNode, 'maintenance-on')) === null) return 'not-needed';
  await settled(store, run.runId, run.coreNode, context, 'maintenance-on');
  if (!maintenanceOffNeeded(await store.getCheckpoint(run.runId, run.coreNode, 'maintenance-off'))) return 'not-needed';
  return (await runAndWait(store, runner, run, run.coreNode, 'maintenance-off', context)).outcome;
}

/** Records the run's summary from DynamoDB, compacted as the run's own is: the run record is one DynamoDB item (400 KB). */
export async function recordSummary(store: FleetStore, run: StoredRun, lockReleased: boolean, ended: EndedWithoutCleanup): Promise<Summary> {
  const { checkpoints, outcomes, held } = await store.runRecords(run.runId);
  const pause = await new PauseStore(new Table(documentClient(), requireEnv('TABLE_NAME'))).settle(run.runId, new Date().toISOString());
  const summary = compactSummary(
    buildSummary({
      run,
      checkpoints,
      outcomes,
      held,
      lockReleased,
      caught: { Error: ended.error, Cause: ended.cause },
      // A pause still open ends with the execution.
      ...(pause ? { pause } : {}),
      finishedAt: new Date().toISOString(),
    }),
  );
  await store.completeRun(summary);
  return summary;
}
