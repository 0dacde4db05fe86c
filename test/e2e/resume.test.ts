import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rehearse, TABLE_NAME } from '../../local/rehearsal.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient } from '../../adapters/aws-clients.js';
import type { ClusterFile } from '../../local/cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { inspectSandbox, stopService } from '../../local/sandbox.js';
import { invariantViolations } from '../support/invariants.js';

/**
 * A run stops half way (the operator aborts after dea-2 failed its post-upgrade validation: dea-2 runs the
 * new release, unvalidated). Resuming it: dea-1, already upgraded, is skipped by its version check; dea-2
 * restarts from its restart step (no second backup of what is now the new release); core-1 upgrades.
 */
const cluster: ClusterFile = {
  cluster: 'resume',
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
  workdir = await mkdtemp(join('.tmp', 'e2e-resume-'));
});

afterAll(async () => {
  if (workdir !== undefined) await Promise.all(cluster.nodes.map((n) => stopService(join(workdir, 'nodes', n.id))));
  await dynamodb?.stop();
});

describe('resume a run that stopped', () => {
  it('skips what the first run upgraded and restarts the interrupted node from a safe step', { timeout: 420_000 }, async () => {
    const first = await rehearse({
      cluster,
      targetVersion: '3.1.0',
      workdir,
      dynamodb,
      keepServices: true,
      runId: 'resume-first',
      failures: [{ nodeId: 'dea-2', step: 'post-upgrade-validation', times: 1 }],
      decisions: ['abort'],
    });
    expect(first.summary.status).toBe('ABORTED');
    expect(Object.fromEntries(Object.entries(first.summary.nodes).map(([id, n]) => [id, n.status]))).toEqual({
      'dea-1': 'UPGRADED',
      'dea-2': 'NEEDS_ATTENTION',
      'core-1': 'NOT_STARTED',
    });
    expect((await inspectSandbox(join(workdir, 'nodes', 'dea-2'))).currentVersion).toBe('3.1.0');

    const resumed = await rehearse({
      cluster,
      targetVersion: '3.1.0',
      workdir,
      dynamodb,
      keepServices: true,
      runId: 'resume-second',
      resumeFrom: 'resume-first',
    });
    expect(resumed.summary.status).toBe('SUCCEEDED');
    expect(resumed.summary.nodes['dea-1']?.status).toBe('SKIPPED');
    expect(resumed.summary.nodes['core-1']?.status).toBe('UPGRADED');
    const dea2 = resumed.summary.nodes['dea-2'];
    expect(dea2?.status).toBe('UPGRADED');
    const windowSteps = dea2?.steps.map((s) => s.step).filter((s) => !['self-update', 'version-check', 'download'].includes(s));
    expect(windowSteps).toEqual(['restart', 'post-upgrade-validation']);
    // It came from 3.0.0 (switched by the first run), though its version check today says 3.1.0.
    expect(dea2).toMatchObject({ from: '3.0.0', to: '3.1.0' });
    const store = new FleetStore(documentClient(), TABLE_NAME);
    expect(await store.getNodeRecord('resume', 'dea-2')).toMatchObject({ version: '3.1.0', previousVersion: '3.0.0', status: 'UPGRADED' });
    // dea-1 and dea-2 already ran the target when the resumed run began.
    expect(await invariantViolations(resumed, cluster, { versionsBefore: { 'dea-1': '3.1.0', 'dea-2': '3.1.0' } })).toEqual([]);
  });

  it(
    'as the CLI does it (table in the workdir, services stopped at the end): a node aborted drained at its upgrade goes on from its backup',
    { timeout: 420_000 },
    async () => {
      const drained: ClusterFile = { ...cluster, cluster: 'resume-drained' };
      const dir = await mkdtemp(join('.tmp', 'e2e-resume-drained-'));
      try {
        const first = await rehearse({
          cluster: drained,
          targetVersion: '3.1.0',
          workdir: dir,
          runId: 'drained-first',
          failures: [{ nodeId: 'dea-2', step: 'upgrade', times: 1 }],
          decisions: ['abort'],
        });
        expect(first.summary.status).toBe('ABORTED');
        expect(first.summary.nodes['dea-2']?.status).toBe('NEEDS_ATTENTION');
        // The first rehearsal stopped every service at its end; dea-2 was left drained at 3.0.0.
        expect(await inspectSandbox(join(dir, 'nodes', 'dea-2'))).toMatchObject({ currentVersion: '3.0.0', serviceHealthy: false });

        const resumed = await rehearse({ cluster: drained, targetVersion: '3.1.0', workdir: dir, runId: 'drained-second', resumeFrom: 'drained-first' });
        expect(resumed.summary.status).toBe('SUCCEEDED');
        expect(Object.fromEntries(Object.entries(resumed.summary.nodes).map(([id, n]) => [id, n.status]))).toEqual({
          'dea-1': 'SKIPPED',
          'dea-2': 'UPGRADED',
          'core-1': 'UPGRADED',
        });
        // Retired by the first run: neither pre-upgrade validation (a drained node fails it) nor retire again; a
        // backup of its own, since backups are kept per run.
        const windowSteps = resumed.summary.nodes['dea-2']?.steps.map((s) => s.step).filter((s) => !['self-update', 'version-check', 'download'].includes(s));
        expect(windowSteps).toEqual(['backup', 'upgrade', 'restart', 'post-upgrade-validation']);
        for (const n of drained.nodes) expect((await inspectSandbox(join(dir, 'nodes', n.id))).currentVersion, n.id).toBe('3.1.0');
      } finally {
        await Promise.all(drained.nodes.map((n) => stopService(join(dir, 'nodes', n.id))));
      }
    },
  );

  it('refuses to resume a run that does not exist, naming the field, and touches nothing', async () => {
    const before = await Promise.all(cluster.nodes.map((n) => inspectSandbox(join(workdir, 'nodes', n.id))));
    // Refused while planning, before the run is recorded: the execution fails with the validation error.
    await expect(
      rehearse({ cluster, targetVersion: '3.1.0', workdir, dynamodb, keepServices: true, runId: 'resume-bad', resumeFrom: 'no-such-run' }),
    ).rejects.toThrow('InputValidationError: resumeFrom: run no-such-run of cluster resume was not found');
    const store = new FleetStore(documentClient(), TABLE_NAME);
    expect(await store.getLock('resume')).toBeNull();
    expect(await store.getRun('resume', 'resume-bad')).toBeNull();
    expect((await store.runRecords('resume-bad')).checkpoints).toEqual([]);
    const after = await Promise.all(cluster.nodes.map((n) => inspectSandbox(join(workdir, 'nodes', n.id))));
    expect(after.map((a) => [a.currentVersion, a.stateJson, a.maintenance])).toEqual(before.map((b) => [b.currentVersion, b.stateJson, b.maintenance]));
  });
});
