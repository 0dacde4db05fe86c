import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTable } from '../support/dynamodb.js';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { BudgetStore } from '../../adapters/budget-store.js';
import { WindowStore } from '../../adapters/window-store.js';
import { FleetStore } from '../../adapters/store.js';
import { Table } from '../../adapters/table.js';
import { documentClient } from '../../adapters/aws-clients.js';
import { recordDurations } from '../../core/window.js';

let dynamodb: LocalDynamoDb;
let table: Table;
beforeAll(async () => {
  dynamodb = await localTable();
  table = new Table(documentClient(), 'fleet-upgrade-test');
});
afterAll(async () => {
  await dynamodb?.stop();
});

describe('the failure count (RUN#id / BUDGET)', () => {
  it('gives each of many nodes failing at once its own place, exactly once', async () => {
    const budget = new BudgetStore(table);
    const ids = Array.from({ length: 12 }, (_, i) => `dea-${i + 1}`);
    const places = await Promise.all(ids.map((id) => budget.countFailure('budget-run', id)));
    expect([...places].sort((a, b) => a - b)).toEqual(ids.map((_, i) => i + 1));
    // A retried invocation for a node already counted gets its place again and counts nothing.
    const again = await Promise.all(ids.map((id) => budget.countFailure('budget-run', id)));
    expect(again).toEqual(places);
    expect(await budget.failedNodes('budget-run')).toHaveLength(12);
  });

  it('keeps runs apart', async () => {
    const budget = new BudgetStore(table);
    expect(await budget.countFailure('budget-other', 'dea-1')).toBe(1);
    expect(await budget.failedNodes('budget-none')).toEqual([]);
  });
});

describe('window durations and the cutoff (RUN#id / WINDOW)', () => {
  it("reads the node durations the cluster's most recent runs recorded, not the run's own", async () => {
    const store = new FleetStore(documentClient(), 'fleet-upgrade-test');
    const windows = new WindowStore(table);
    const seed = async (runId: string, startedAt: string, seconds: number) => {
      await store.putRun({
        runId,
        cluster: 'windowed',
        targetVersion: '3.1.0',
        coreNode: 'core-1',
        order: ['dea-1'],
        roles: { 'dea-1': ['dea'] },
        plannedFrom: {},
        startedAt,
      });
      await windows.putDurations(runId, recordDurations([{ roles: ['dea'], seconds }]));
    };
    await seed('windowed-1', '2026-11-20T10:00:00.000Z', 100);
    await seed('windowed-2', '2026-11-21T10:00:00.000Z', 200);
    await seed('windowed-3', '2026-11-22T10:00:00.000Z', 300);
    // A run that recorded none (it ended before its summary, or before this was kept) is passed over.
    await store.putRun({
      runId: 'windowed-4',
      cluster: 'windowed',
      targetVersion: '3.1.0',
      coreNode: 'core-1',
      order: [],
      roles: {},
      plannedFrom: {},
      startedAt: '2026-11-23T10:00:00.000Z',
    });
    expect((await windows.recentDurations('windowed', 'windowed-3')).flatMap((d) => d.all).sort()).toEqual([100, 200]);
    expect(await windows.recentDurations('windowed', undefined, 2)).toEqual([{ byRole: { dea: [300] }, all: [300] }]);
  });

  it('keeps the first node the cutoff refused', async () => {
    const windows = new WindowStore(table);
    await windows.putWindow('cut-run', { notAfter: '2026-11-24T11:00:00.000Z', estimates: { byRole: { dea: 60 }, overall: 60, samples: 1 } });
    const first = { nodeId: 'dea-3', estimatedFinish: '2026-11-24T11:00:30.000Z', reason: 'window cutoff: dea-3', at: '2026-11-24T10:59:30.000Z' };
    await windows.recordCutoff('cut-run', first);
    await windows.recordCutoff('cut-run', { ...first, nodeId: 'dea-4' });
    expect(await windows.getWindow('cut-run')).toEqual({
      notAfter: '2026-11-24T11:00:00.000Z',
      estimates: { byRole: { dea: 60 }, overall: 60, samples: 1 },
      cutoff: first,
    });
  });
});
