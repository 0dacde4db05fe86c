import type { ApprovalDecision } from '../../core/approval.js';
import { DEFAULT_MAX_FAILED_NODES, failurePolicy } from '../../core/failure-budget.js';
import { failureBudgetSpentEmail } from '../../core/operator-notices.js';
import type { RunContext } from '../../core/run-context.js';
import type { StepId } from '../../core/steps.js';
import type { CaughtError } from '../../core/summary.js';
import { BudgetStore } from '../../adapters/budget-store.js';
import type { FleetStore } from '../../adapters/store.js';
import { Table } from '../../adapters/table.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { publishToOperators as publish } from '../../adapters/operator-topic.js';
import { failedCheckpoint } from './failed-step.js';

/**
 * Nobody was asked, so someone must hear that the run stopped with a node left as it was. Best effort: the
 * run stops and the summary says why whether or not the message goes out.
 */
async function tellOperators(run: RunContext, nodeId: string, step: string, max: number): Promise<void> {
  try {
    const { subject, message } = failureBudgetSpentEmail(run, nodeId, step, max);
    await publish(subject, message, { runId: run.runId, nodeId, kind: 'failure-budget-spent' });
  } catch (error) {
    logger.warn('could not tell the operators that the failure budget is spent', { runId: run.runId, nodeId, error: String(error) });
  }
}

/**
 * onFailure rollback-and-continue: the failed node takes its place in the run's failure count (atomic, so the
 * budget is exact across parallel nodes) and the policy decides; nobody is asked. Past the budget the run is
 * marked stopping at once, so no node starts while this node is recorded.
 */
export async function decideByPolicy(
  store: FleetStore,
  event: { run: RunContext; node: { id: string }; failedStep?: string; error?: CaughtError },
  now: Date,
): Promise<ApprovalDecision & { approvalId: string; failedStep: StepId }> {
  const { run, node } = event;
  const failed = await failedCheckpoint(store, event, await store.nodeCheckpoints(run.runId, node.id), now);
  const budget = new BudgetStore(new Table(documentClient(), requireEnv('TABLE_NAME')));
  const max = run.maxFailedNodes ?? DEFAULT_MAX_FAILED_NODES;
  const place = await budget.countFailure(run.runId, node.id);
  const verdict = failurePolicy(max, place);
  if (verdict.decision === 'abort') {
    await store.markRunStopping(
      run.runId,
      `the run stopped: ${node.id} failed after the failure budget of ${max} was spent (onFailure rollback-and-continue)`,
      now.toISOString(),
    );
    await tellOperators(run, node.id, failed?.step ?? 'a step', max);
  }
  logger.warn('a node failed; the failure budget decides', { runId: run.runId, nodeId: node.id, place, maxFailedNodes: max, decision: verdict.decision });
  return { ...verdict, decidedAt: now.toISOString(), byTimeout: false, approvalId: 'none', failedStep: failed?.step ?? 'upgrade' };
}
