import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLE_NAME, rehearse } from '../../local/rehearsal.js';
import { WindowStore } from '../../adapters/window-store.js';
import { Table } from '../../adapters/table.js';
import { documentClient } from '../../adapters/aws-clients.js';
import type { ClusterFile } from '../../local/cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { inspectSandbox, stopService } from '../../local/sandbox.js';
import { invariantViolations } from '../support/invariants.js';
import { recordEarlierRun } from '../support/earlier-run.js';

/**
 * The window cutoff end to end. An earlier run of the cluster recorded how long its nodes took: a DEA a
 * minute, the core node an hour. With 30 minutes left, both DEAs start and upgrade; the core node would
 * not finish in time, so it never starts and the run ends INCOMPLETE (maintenance off, lock released).
 * Resuming the run later upgrades it.
 */
const cluster: ClusterFile = {
  cluster: 'window',
  nodes: [
    { id: 'dea-1', roles: ['dea'], version: '3.0.0', state: { droplets: 1 } },
    { id: 'dea-2', roles: ['dea'], version: '3.0.0', state: { droplets: 2 } },
    { id: 'core-1', roles: ['primary'], version: '3.0.0', state: { apps: ['a'] } },
  ],
};

let dynamodb: LocalDynamoDb;
let workdir: string;

beforeAll(async () => {
  dynamodb = await startLocalDynamoDb();
  await mkdir('.tmp', { recursive: true });
  workdir = await mkdtemp(join('.tmp', 'e2e-window-'));
  await recordEarlierRun(dynamodb, cluster, { 'dea-1': 60, 'dea-2': 50, 'core-1': 3600 });
});

afterAll(async () => {
  if (workdir !== undefined) await Promise.all(cluster.nodes.map((n) => stopService(join(workdir, 'nodes', n.id))));
  await dynamodb?.stop();
});

describe('window cutoff (notAfter)', () => {
  it('starts only the nodes that can finish in time, ends INCOMPLETE, and a resumed run finishes the rest', { timeout: 420_000 }, async () => {
    const notAfter = new Date(Date.now() + 30 * 60_000).toISOString();
    const first = await rehearse({ cluster, targetVersion: '3.1.0', workdir, dynamodb, keepServices: true, runId: 'window-first', notAfter });
    expect(first.summary.status).toBe('INCOMPLETE');
    expect(Object.fromEntries(Object.entries(first.summary.nodes).map(([id, n]) => [id, n.status]))).toEqual({
      'dea-1': 'UPGRADED',
      'dea-2': 'UPGRADED',
      'core-1': 'NOT_STARTED',
    });
    expect(first.summary.cutoff).toMatchObject({ nodeId: 'core-1' });
    expect(first.summary.failure).toMatchObject({ error: 'WindowCutoff', node: 'core-1' });
    expect(first.summary.failure?.message).toMatch(/^window cutoff: core-1 would finish about .* \(estimated 1h 00m\), after notAfter/);
    expect(first.summary.lockReleased).toBe(true);
    expect(first.summary.maintenanceMode.disabledAt).not.toBeNull();
    expect((await inspectSandbox(join(workdir, 'nodes', 'core-1'))).currentVersion).toBe('3.0.0');
    expect(await invariantViolations(first, cluster)).toEqual([]);
    // Its summary kept how long its DEAs took, for the estimates of the cluster's later runs.
    const [kept] = await new WindowStore(new Table(documentClient(), TABLE_NAME)).recentDurations('window', undefined, 1);
    expect(kept?.byRole.dea).toHaveLength(2);

    const resumed = await rehearse({
      cluster,
      targetVersion: '3.1.0',
      workdir,
      dynamodb,
      keepServices: true,
      runId: 'window-second',
      resumeFrom: 'window-first',
    });
    expect(resumed.summary.status).toBe('SUCCEEDED');
    expect(Object.fromEntries(Object.entries(resumed.summary.nodes).map(([id, n]) => [id, n.status]))).toEqual({
      'dea-1': 'SKIPPED',
      'dea-2': 'SKIPPED',
      'core-1': 'UPGRADED',
    });
    expect(await invariantViolations(resumed, cluster, { versionsBefore: { 'dea-1': '3.1.0', 'dea-2': '3.1.0' } })).toEqual([]);
  });

  it('does not open the window when even the first node cannot finish in time (defaults before any run)', { timeout: 300_000 }, async () => {
    const fresh: ClusterFile = { ...cluster, cluster: 'window-fresh' };
    const dir = await mkdtemp(join('.tmp', 'e2e-window-fresh-'));
    try {
      const r = await rehearse({
        cluster: fresh,
        targetVersion: '3.1.0',
        workdir: dir,
        dynamodb,
        keepServices: true,
        runId: 'window-fresh',
        notAfter: new Date(Date.now() + 10 * 60_000).toISOString(),
      });
      expect(r.summary.status).toBe('INCOMPLETE');
      expect(r.summary.counts.notStarted).toBe(3);
      expect(r.summary.failure?.message).toMatch(/^window cutoff: dea-1 would finish about .* \(estimated 20m 00s\)/);
      // Maintenance mode was never switched on for a window no node fits in.
      expect(r.summary.maintenanceMode.enabledAt).toBeNull();
      expect(await invariantViolations(r, fresh)).toEqual([]);
    } finally {
      await Promise.all(fresh.nodes.map((n) => stopService(join(dir, 'nodes', n.id))));
    }
  });
});
