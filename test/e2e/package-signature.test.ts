import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rehearse, type RehearsalResult } from '../../local/rehearsal.js';
import { clusterFileSchema, type ClusterFile } from '../../local/cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { inspectSandbox, stopService } from '../../local/sandbox.js';
import { parseFailure } from '../../cli/rehearse.js';
import { invariantViolations } from '../support/invariants.js';

const demo: ClusterFile = clusterFileSchema.parse(JSON.parse(readFileSync('examples/demo-cluster.json', 'utf8')));
const cluster: ClusterFile = { ...demo, cluster: 'e2e-signature' };
let dynamodb: LocalDynamoDb;
let result: RehearsalResult;

beforeAll(async () => {
  dynamodb = await startLocalDynamoDb();
  await mkdir('.tmp', { recursive: true });
  result = await rehearse({
    cluster,
    targetVersion: '3.1.0',
    workdir: await mkdtemp(join('.tmp', 'e2e-signature-')),
    dynamodb,
    keepServices: true,
    // As `rehearse --fail dea-2:signature` asks: dea-2's download meets packages signed by another key.
    failures: parseFailure('dea-2:signature'),
  });
});

afterAll(async () => {
  await Promise.all([...(result?.nodeRoots.values() ?? [])].map((root) => stopService(root)));
  await dynamodb?.stop();
});

describe('rehearse --fail dea-2:signature (a package signed by another key)', () => {
  it('ends before the window, the failure naming dea-2 and the signature', () => {
    expect(result.summary.status).toBe('FAILED');
    expect(result.summary.failure).toMatchObject({ node: 'dea-2', step: 'download', exitCode: 5 });
    expect(result.summary.failure?.outputTail).toContain('signature check failed for app-3.1.0.tar.gz');
    expect(result.summary.failure?.outputTail).toContain('packageSigningPublicKey');
    expect(result.summary.nodes['dea-2']).toMatchObject({ status: 'FAILED', from: '3.0.0', to: '3.0.0' });
  });

  it('leaves every node at its old version, maintenance mode never on, the lock released', async () => {
    expect(result.summary.maintenanceMode).toMatchObject({ enabledAt: null, disabledAt: null });
    expect(result.summary.lockReleased).toBe(true);
    for (const node of cluster.nodes) {
      expect(await inspectSandbox(result.nodeRoots.get(node.id) as string), node.id).toMatchObject({
        currentLink: 'releases/3.0.0',
        serviceHealthy: true,
        maintenance: false,
      });
      expect(
        result.summary.nodes[node.id]?.steps.map((s) => s.step),
        node.id,
      ).not.toContain('upgrade');
    }
    expect(await invariantViolations(result, cluster)).toEqual([]);
  });

  it('keeps nothing of the impostor package on dea-2', async () => {
    const downloads = join(result.nodeRoots.get('dea-2') as string, 'var/lib/fleet-upgrade/downloads/3.1.0');
    expect((await readdir(downloads)).filter((f) => !f.startsWith('.'))).toEqual([]);
  });
});
