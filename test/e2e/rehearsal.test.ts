import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rehearse, type RehearsalResult } from '../../local/rehearsal.js';
import { clusterFileSchema, type ClusterFile } from '../../local/cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { inspectSandbox, stopService } from '../../local/sandbox.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient } from '../../adapters/aws-clients.js';

const demo: ClusterFile = clusterFileSchema.parse(JSON.parse(readFileSync('examples/demo-cluster.json', 'utf8')));
let dynamodb: LocalDynamoDb;
const roots: string[] = [];

async function workdir(name: string): Promise<string> {
  await mkdir('.tmp', { recursive: true });
  return mkdtemp(join('.tmp', `e2e-${name}-`));
}

async function run(name: string, extra: Partial<Parameters<typeof rehearse>[0]> = {}): Promise<RehearsalResult> {
  const result = await rehearse({
    cluster: { ...demo, cluster: `e2e-${name}` },
    targetVersion: '3.1.0',
    workdir: await workdir(name),
    dynamodb,
    keepServices: true,
    ...extra,
  });
  roots.push(...result.nodeRoots.values());
  return result;
}

const store = (result: RehearsalResult) => new FleetStore(documentClient(), result.tableName);

beforeAll(async () => {
  dynamodb = await startLocalDynamoDb();
});

afterAll(async () => {
  await Promise.all(roots.map((root) => stopService(root)));
  await dynamodb?.stop();
});

describe('rehearsal of the demo cluster', () => {
  let result: RehearsalResult;

  beforeAll(async () => {
    result = await run('happy');
  });

  it('upgrades every node in role order and reports SUCCEEDED', () => {
    expect(result.summary.status).toBe('SUCCEEDED');
    expect(result.summary.order).toEqual(['dea-1', 'dea-2', 'controller-1', 'router-1', 'base-1', 'core-1', 'mysql-1']);
    for (const id of result.summary.order) {
      expect(result.summary.nodes[id], id).toMatchObject({ from: '3.0.0', to: '3.1.0', status: 'UPGRADED' });
    }
    expect(result.summary.nodes['dea-1']?.steps.map((s) => s.step)).toEqual([
      'self-update',
      'version-check',
      'pre-upgrade-validation',
      'download',
      'retire',
      'backup',
      'upgrade',
      'restart',
      'post-upgrade-validation',
    ]);
    expect(result.summary.nodes['controller-1']?.steps.map((s) => s.step)).not.toContain('retire');
  });

  it('leaves every node at the target release, its service healthy and its state intact', async () => {
    for (const node of demo.nodes) {
      const seen = await inspectSandbox(result.nodeRoots.get(node.id) as string);
      expect(seen, node.id).toMatchObject({
        currentLink: 'releases/3.1.0',
        currentVersion: '3.1.0',
        serviceHealthy: true,
        heartbeatVersion: '3.1.0',
        maintenance: false,
      });
      expect(JSON.parse(seen.stateJson ?? 'null'), node.id).toEqual(node.state);
    }
  });

  it('turned maintenance mode on before the first node changed and off at the end, and released the lock', () => {
    const m = result.summary.maintenanceMode;
    expect(m.node).toBe('core-1');
    expect(m.enabledAt).not.toBeNull();
    expect(m.disabledAt).not.toBeNull();
    expect(Date.parse(m.enabledAt as string)).toBeLessThanOrEqual(Date.parse(m.disabledAt as string));
    expect(result.summary.lockReleased).toBe(true);
  });

  it('records every node version and the run in DynamoDB', async () => {
    const s = store(result);
    for (const node of demo.nodes) {
      await expect(s.getNodeRecord('e2e-happy', node.id)).resolves.toMatchObject({
        version: '3.1.0',
        previousVersion: '3.0.0',
        status: 'UPGRADED',
        lastRun: result.summary.runId,
      });
    }
    await expect(s.getRun('e2e-happy', result.summary.runId)).resolves.toMatchObject({ status: 'SUCCEEDED' });
    await expect(s.getLock('e2e-happy')).resolves.toBeNull();
  });

  it('counts state transitions and history events of the execution', () => {
    expect(result.summary.execution.status).toBe('SUCCEEDED');
    expect(result.summary.execution.stateTransitions).toBeGreaterThan(7 * 10);
    // Every Map is distributed: nodes run in child executions; the parent's history does not grow per node.
    // 7 nodes checked + 7 upgraded in 6 groups (dea, controller, router, base, primary, unmatched) = 20 child executions.
    expect(result.summary.execution.childExecutions).toBe(7 + 7 + 6);
    expect(result.summary.execution.childEvents).toBeGreaterThan(result.summary.execution.stateTransitions);
    expect(result.summary.execution.events).toBeLessThan(80);
  });
});

describe('a cluster already at the target version', () => {
  it('skips every node after its version check and changes nothing', async () => {
    const atTarget = { ...demo, nodes: demo.nodes.map((n) => ({ ...n, version: '3.1.0' })) };
    const result = await run('skip', { cluster: { ...atTarget, cluster: 'e2e-skip' } });
    expect(result.summary.status).toBe('SUCCEEDED');
    expect(result.summary.counts).toMatchObject({ upgraded: 0, skipped: 7 });
    expect(result.summary.nodes['dea-1']?.steps.map((s) => [s.step, s.status])).toEqual([
      ['self-update', 'SUCCEEDED'],
      ['version-check', 'NOTHING_TO_DO'],
    ]);
    await expect(store(result).getNodeRecord('e2e-skip', 'dea-1')).resolves.toMatchObject({ status: 'SKIPPED', version: '3.1.0' });
    // Nothing to upgrade: maintenance mode is never switched on, and the lock is released.
    expect(result.summary.maintenanceMode).toMatchObject({ enabledAt: null, disabledAt: null });
    expect(result.summary.lockReleased).toBe(true);
    const { checkpoints } = await store(result).runRecords(result.summary.runId);
    expect(checkpoints.filter((c) => c.step === 'maintenance-on' || c.step === 'maintenance-off')).toEqual([]);
    expect(checkpoints.filter((c) => !['self-update', 'version-check'].includes(c.step))).toEqual([]);
  });
});

describe('a failing step', () => {
  let result: RehearsalResult;

  beforeAll(async () => {
    result = await run('fail', { decisions: ['rollback'], failures: [{ nodeId: 'dea-2', step: 'backup', times: Number.POSITIVE_INFINITY }] });
  });

  it('stops the run cleanly: FAILED, the failed step and its output in the summary, later nodes untouched', async () => {
    expect(result.summary.status).toBe('ROLLED_BACK');
    expect(result.summary.execution.status).toBe('FAILED');
    expect(result.summary.failure).toMatchObject({
      node: 'dea-2',
      step: 'backup',
      exitCode: 1,
      outputTail: expect.stringContaining('injected failure of backup on dea-2'),
    });
    expect(result.summary.nodes['dea-1']).toMatchObject({ status: 'UPGRADED', to: '3.1.0' });
    expect(result.summary.nodes['dea-2']).toMatchObject({ status: 'ROLLED_BACK', from: '3.0.0', to: '3.0.0' });
    for (const id of ['controller-1', 'router-1', 'base-1', 'core-1', 'mysql-1']) {
      expect(result.summary.nodes[id]?.status, id).toBe('NOT_STARTED');
      const seen = await inspectSandbox(result.nodeRoots.get(id) as string);
      expect(seen, id).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
    }
    const failed = await inspectSandbox(result.nodeRoots.get('dea-2') as string);
    expect(failed).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
  });

  it('turns maintenance mode off and releases the lock on the failure path', async () => {
    expect(result.summary.maintenanceMode.disabledAt).not.toBeNull();
    expect((await inspectSandbox(result.nodeRoots.get('core-1') as string)).maintenance).toBe(false);
    expect(result.summary.lockReleased).toBe(true);
    await expect(store(result).getLock('e2e-fail')).resolves.toBeNull();
  });

  it('tells the truth in DynamoDB', async () => {
    const s = store(result);
    await expect(s.getNodeRecord('e2e-fail', 'dea-2')).resolves.toMatchObject({ status: 'ROLLED_BACK', version: '3.0.0' });
    await expect(s.getNodeRecord('e2e-fail', 'controller-1')).resolves.toBeNull();
    await expect(s.getRun('e2e-fail', result.summary.runId)).resolves.toMatchObject({ status: 'ROLLED_BACK' });
  });
});
