import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterFile } from '../../local/cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { rehearse, type RehearsalOptions, type RehearsalResult } from '../../local/rehearsal.js';
import { stopService } from '../../local/sandbox.js';
import { invariantViolations } from '../support/invariants.js';

/**
 * Health gates (issue 19 item 1): the local CloudWatch puts api-5xx in ALARM once dea-1 is upgraded; the check
 * after dea-1 finds it, no other node starts, and the operator is asked continue or abort on the approval page.
 */
const cluster = (name: string, deas = 2): ClusterFile => ({
  cluster: `health-${name}`,
  nodes: [
    ...Array.from({ length: deas }, (_, i) => i + 1).map((i) => ({ id: `dea-${i}`, roles: ['dea'], version: '3.0.0', state: { droplets: i } })),
    { id: 'controller-1', roles: ['controller'], version: '3.0.0', state: { apps: 2 } },
    { id: 'core-1', roles: ['primary'], version: '3.0.0', state: { apps: ['a'] } },
  ],
});

let dynamodb: LocalDynamoDb;
const roots: string[] = [];
beforeAll(async () => {
  dynamodb = await startLocalDynamoDb();
});
afterAll(async () => {
  await Promise.all(roots.map((r) => stopService(r)));
  await dynamodb?.stop();
});

async function run(name: string, opts: Partial<RehearsalOptions>, deas = 2): Promise<RehearsalResult> {
  await mkdir('.tmp', { recursive: true });
  const c = cluster(name, deas);
  const r = await rehearse({
    cluster: c,
    targetVersion: '3.1.0',
    workdir: await mkdtemp(join('.tmp', `e2e-health-${name}-`)),
    dynamodb,
    keepServices: true,
    ...opts,
  });
  roots.push(...r.nodeRoots.values());
  expect(await invariantViolations(r, c)).toEqual([]);
  return r;
}
const statuses = (r: RehearsalResult) => Object.fromEntries(r.summary.order.map((id) => [id, r.summary.nodes[id]?.status]));
const alarmAfterDea1 = { healthAlarms: ['api-5xx'], alarms: [{ name: 'api-5xx', afterNode: 'dea-1' }] };

describe('health gates', () => {
  it('--health-alarm api-5xx --alarm api-5xx:after=dea-1 --decision abort: ABORTED, dea-1 at the target, the nodes after it at their old version', async () => {
    const r = await run('abort', { ...alarmAfterDea1, decisions: ['abort'] });
    expect(r.summary.status).toBe('ABORTED');
    expect(statuses(r)).toEqual({ 'dea-1': 'UPGRADED', 'dea-2': 'NOT_STARTED', 'controller-1': 'NOT_STARTED', 'core-1': 'NOT_STARTED' });
    expect(r.summary.failure).toMatchObject({ error: 'HealthAlarm', message: 'the run stopped: abort decided on health alarm api-5xx by alice@example.com' });
    expect(r.summary.health).toMatchObject({
      alarms: ['api-5xx'],
      firing: [{ name: 'api-5xx', reason: expect.stringContaining('Threshold Crossed') as string }],
      decision: 'abort',
      byTimeout: false,
    });
    expect(r.summary.maintenanceMode.disabledAt).not.toBeNull();
    const email = r.notifications.find((n) => n.attributes.kind === 'approval');
    expect(email?.subject).toContain('health alarm api-5xx');
    expect(email?.message).toContain('Nodes changed since the gate last passed: dea-1');
  });

  it('--decision continue: SUCCEEDED, every node at the target; the alarm continued past does not ask again', async () => {
    const r = await run('continue', { ...alarmAfterDea1, decisions: ['continue'] });
    expect(r.summary.status).toBe('SUCCEEDED');
    expect(Object.values(statuses(r))).toEqual(Array(4).fill('UPGRADED'));
    expect(r.summary.health).toMatchObject({ decision: 'continue', decidedBy: 'alice@example.com' });
    expect(r.notifications.filter((n) => n.attributes.kind === 'approval')).toHaveLength(1);
  });

  it('DEAs two at a time with a 1 s bake: the nodes in flight finish, one question is asked, --decision continue: SUCCEEDED', async () => {
    const r = await run('parallel', { ...alarmAfterDea1, bakeSeconds: 1, concurrency: { dea: 2 }, decisions: ['continue'] }, 3);
    expect(r.summary.status).toBe('SUCCEEDED');
    expect(Object.values(statuses(r))).toEqual(Array(5).fill('UPGRADED'));
    expect(r.summary.health).toMatchObject({ alarms: ['api-5xx'], decision: 'continue' });
    expect(r.notifications.filter((n) => n.attributes.kind === 'approval')).toHaveLength(1);
  });
});
