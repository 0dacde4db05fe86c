import { describe, expect, it } from 'vitest';
import { DynamoDBRunStore, type RunStore } from '../../adapters/run-store.js';
import type { RunInfo, Summary } from '../../core/summary.js';
import { onContractTable } from '../support/contract-table.js';

// The RunStore port's contract, run against its DynamoDB adapter on the engine under test.
let runs: RunStore;
onContractTable('run', (table) => {
  runs = new DynamoDBRunStore(table);
});

const run = (runId: string, overrides: Partial<RunInfo> = {}): RunInfo => ({
  runId,
  cluster: 'c',
  targetVersion: '3.1.0',
  coreNode: 'core-1',
  order: ['core-1', 'dea-10', 'dea-2'],
  roles: { 'core-1': ['core'], 'dea-10': ['dea'], 'dea-2': ['dea'], 'router-1': ['router'] },
  plannedFrom: { 'core-1': '3.0.0', 'dea-10': null, 'dea-2': '3.0.0' },
  startedAt: '2026-11-30T01:00:00.000Z',
  notInRun: ['router-1'],
  ...overrides,
});

describe('a run and its plan (CLUSTER#c / RUN#id, RUN#id / PLAN#node)', () => {
  it('is recorded RUNNING and read back whole: facts, order, roles (of the nodes left out too), versions planned from', async () => {
    await runs.putRun(run('r-whole'));
    expect(await runs.getRun('c', 'r-whole')).toEqual({ ...run('r-whole'), status: 'RUNNING' });
    expect(await runs.runFacts('c', 'r-whole')).toEqual({ status: 'RUNNING', summarized: false });
    expect(await runs.getRun('c', 'r-none')).toBeNull();
    expect(await runs.runFacts('c', 'r-none')).toBeNull();
  });

  it("lists the run's nodes in planned order without those `only` left out, and a node's planned roles by key", async () => {
    await runs.putRun(run('r-plan'));
    expect((await runs.plannedNodes('r-plan')).map((p) => [p.nodeId, p.seq])).toEqual([
      ['core-1', 0],
      ['dea-10', 1],
      ['dea-2', 2],
    ]);
    expect(await runs.plannedRoles('r-plan', 'router-1')).toEqual(['router']);
    expect(await runs.plannedRoles('r-plan', 'dea-99')).toBeNull();
  });

  it('notes when the gate let a node start, the first time only; a node the run did not plan gets nothing', async () => {
    await runs.putRun(run('r-start'));
    expect(await runs.markStarted('r-start', 'dea-2', 'first')).toBe(true);
    expect(await runs.markStarted('r-start', 'dea-2', 'again')).toBe(true);
    expect(await runs.markStarted('r-start', 'dea-99', 'first')).toBe(false);
    expect((await runs.plannedNodes('r-start')).find((p) => p.nodeId === 'dea-2')?.startedAt).toBe('first');
    expect(await runs.plannedRoles('r-start', 'dea-99')).toBeNull();
  });

  it('records the end: status and summary on the run record, and the facts say it is summarized', async () => {
    await runs.putRun(run('r-end'));
    const summary = { status: 'SUCCEEDED', runId: 'r-end', cluster: 'c', finishedAt: '2026-11-30T02:00:00.000Z' } as Summary;
    await runs.completeRun(summary);
    expect(await runs.getRunRecord('c', 'r-end')).toMatchObject({ status: 'SUCCEEDED', summary, finishedAt: summary.finishedAt, runId: 'r-end' });
    expect(await runs.runFacts('c', 'r-end')).toEqual({ status: 'SUCCEEDED', summarized: true });
  });

  it("lists a cluster's runs oldest first, and no other cluster's", async () => {
    await runs.putRun(run('r-late', { cluster: 'listed', startedAt: '2026-11-30T03:00:00.000Z' }));
    await runs.putRun(run('r-early', { cluster: 'listed', startedAt: '2026-11-29T03:00:00.000Z' }));
    expect((await runs.listRuns('listed')).map((r) => [r.runId, r.status])).toEqual([
      ['r-early', 'RUNNING'],
      ['r-late', 'RUNNING'],
    ]);
  });
});
