import { describe, expect, it } from 'vitest';
import type { RehearsalOptions, RehearsalResult } from '../../local/rehearsal.js';
import type { ClusterFile } from '../../local/cluster-file.js';
import { inspectSandbox } from '../../local/sandbox.js';
import { BudgetStore } from '../../adapters/budget-store.js';
import { Table } from '../../adapters/table.js';
import { documentClient } from '../../adapters/aws-clients.js';
import { invariantViolations } from '../support/invariants.js';
import { rehearsalWorld, smallCluster } from '../support/rehearsal-world.js';

/**
 * An unattended run (onFailure rollback-and-continue): a failed node is rolled back and the run goes on
 * without asking anyone, until the budget is spent; the failure after that stops the run as abort does.
 */
const cluster = (name: string): ClusterFile => smallCluster(`budget-${name}`, ['dea-1', 'dea-2', 'dea-3', 'dea-4'], 'ctl-1');
const rehearseChecked = rehearsalWorld('budget');

async function run(name: string, opts: Partial<RehearsalOptions>): Promise<{ r: RehearsalResult; file: ClusterFile }> {
  const file = cluster(name);
  // No decisions: a question would wait, and the short approval timeout would decide rollback (never PARTIAL).
  const r = await rehearseChecked(file, { decisions: [], approvalTimeoutMinutes: 0.5, onTimeout: 'rollback', onFailure: 'rollback-and-continue', ...opts });
  return { r, file };
}

const statuses = (r: RehearsalResult) => Object.fromEntries(Object.entries(r.summary.nodes).map(([id, n]) => [id, n.status]));
const versionOf = async (r: RehearsalResult, id: string) => (await inspectSandbox(r.nodeRoots.get(id) as string)).currentVersion;

describe('failure budget (onFailure rollback-and-continue)', () => {
  it('rolls a failed node back without asking anyone and ends PARTIAL, every other node at the target', { timeout: 300_000 }, async () => {
    const { r, file } = await run('within', { failures: [{ nodeId: 'dea-2', step: 'upgrade', times: Number.POSITIVE_INFINITY }], maxFailedNodes: 1 });
    expect(r.summary.status).toBe('PARTIAL');
    expect(statuses(r)).toEqual({
      'dea-1': 'UPGRADED',
      'dea-2': 'ROLLED_BACK',
      'dea-3': 'UPGRADED',
      'dea-4': 'UPGRADED',
      'ctl-1': 'UPGRADED',
      'core-1': 'UPGRADED',
    });
    expect(await versionOf(r, 'dea-2')).toBe('3.0.0');
    expect(r.summary.nodes['dea-2']?.decided).toEqual({ decision: 'skip', by: 'policy: onFailure=rollback-and-continue (1 of 1 failures)', byTimeout: false });
    // Nobody was asked: no approval request went out, and none waits.
    expect(r.notifications.filter((n) => n.attributes.kind === 'approval')).toEqual([]);
    expect(await new BudgetStore(new Table(documentClient(), r.tableName)).failedNodes(r.summary.runId)).toEqual(['dea-2']);
    expect(await invariantViolations(r, file)).toEqual([]);
  });

  it('stops the run as abort does at the failure after the budget is spent, even among parallel nodes', { timeout: 300_000 }, async () => {
    // dea-1 and dea-2 upgrade together and both fail: exactly one is rolled back, the other stops the run.
    const { r, file } = await run('over', {
      concurrency: { dea: 2 },
      maxFailedNodes: 1,
      failures: ['dea-1', 'dea-2'].map((nodeId) => ({ nodeId, step: 'upgrade', times: Number.POSITIVE_INFINITY })),
    });
    expect(r.summary.status).toBe('ABORTED');
    const failed = ['dea-1', 'dea-2'].map((id) => r.summary.nodes[id]);
    expect(failed.map((n) => n?.status).sort()).toEqual(['NEEDS_ATTENTION', 'ROLLED_BACK']);
    const stopper = failed.find((n) => n?.status === 'NEEDS_ATTENTION');
    expect(stopper?.decided).toMatchObject({ decision: 'abort', by: 'policy: onFailure=rollback-and-continue (failure 2: the budget of 1 is spent)' });
    // The failure the summary explains is the one that stopped the run, not the one rolled back within the budget.
    const stopperId = ['dea-1', 'dea-2'].find((id) => r.summary.nodes[id]?.status === 'NEEDS_ATTENTION');
    expect(r.summary.failure).toMatchObject({ node: stopperId, step: 'upgrade' });
    // No new node started after the budget was spent.
    for (const id of ['dea-3', 'dea-4', 'ctl-1', 'core-1']) expect(r.summary.nodes[id]?.status).toBe('NOT_STARTED');
    expect(r.summary.lockReleased).toBe(true);
    expect(r.summary.maintenanceMode.disabledAt).not.toBeNull();
    expect(r.notifications.filter((n) => n.attributes.kind === 'approval')).toEqual([]);
    // Nobody was asked, so the operators are told the run stopped and which node needs attention.
    const told = r.notifications.filter((n) => n.attributes.kind === 'failure-budget-spent');
    expect(told.map((n) => n.attributes.nodeId)).toEqual([stopperId]);
    expect(told[0]?.subject).toBe(`fleet-upgrade: FAILURE BUDGET SPENT on ${String(stopperId)} (budget-over)`);
    expect(await invariantViolations(r, file)).toEqual([]);
  });
});
