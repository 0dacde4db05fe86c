import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { ClusterFile } from '../../local/cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { rehearse, type RehearsalOptions, type RehearsalResult } from '../../local/rehearsal.js';
import { stopService } from '../../local/sandbox.js';
import { invariantViolations } from './invariants.js';

/** A small cluster: `deas` DEA nodes, a controller and a primary, each with state that must survive. */
export function smallCluster(name: string, deaIds: readonly string[], controllerId = 'controller-1'): ClusterFile {
  return {
    cluster: name,
    nodes: [
      ...deaIds.map((id, i) => ({ id, roles: ['dea'], version: '3.0.0', state: { droplets: i + 1 } })),
      { id: controllerId, roles: ['controller'], version: '3.0.0', state: { apps: 2 } },
      { id: 'core-1', roles: ['primary'], version: '3.0.0', state: { apps: ['a'] } },
    ],
  };
}

/**
 * One local DynamoDB for a test file (started before its tests, stopped after, with every sandbox service
 * the rehearsals left running), and a rehearsal that checks the shared invariants after each run.
 */
export function rehearsalWorld(prefix: string): (cluster: ClusterFile, opts?: Partial<RehearsalOptions>) => Promise<RehearsalResult> {
  let dynamodb: LocalDynamoDb;
  const roots: string[] = [];
  beforeAll(async () => {
    dynamodb = await startLocalDynamoDb();
  });
  afterAll(async () => {
    await Promise.all(roots.map((r) => stopService(r)));
    await dynamodb?.stop();
  });
  return async (cluster, opts = {}) => {
    await mkdir('.tmp', { recursive: true });
    const r = await rehearse({
      cluster,
      targetVersion: '3.1.0',
      workdir: await mkdtemp(join('.tmp', `e2e-${prefix}-${cluster.cluster}-`)),
      dynamodb,
      keepServices: true,
      ...opts,
    });
    roots.push(...r.nodeRoots.values());
    expect(await invariantViolations(r, cluster)).toEqual([]);
    return r;
  };
}
