import { readFile } from 'node:fs/promises';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rehearse, type RehearsalOptions, type RehearsalResult } from '../../local/rehearsal.js';
import type { ClusterFile } from '../../local/cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { inspectSandbox, stopService } from '../../local/sandbox.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FleetStore } from '../../adapters/store.js';
import { documentClient } from '../../adapters/aws-clients.js';
import { TABLE_NAME } from '../../local/rehearsal.js';
import { formatSummary } from '../../cli/format-summary.js';

/**
 * After a failed step the operator decides. Each decision end to end, asserting on the sandboxes
 * (current release, state.json bytes, service) and on DynamoDB. dea-1 fails after it changed
 * (post-upgrade validation: new release current and restarted), so a rollback has real work to do.
 */
const cluster = (name: string): ClusterFile => ({
  cluster: `approval-${name}`,
  nodes: [
    { id: 'dea-1', roles: ['dea'], version: '3.0.0', state: { droplets: 3, note: 'must survive byte for byte' } },
    { id: 'dea-2', roles: ['dea'], version: '3.0.0', state: { droplets: 5 } },
    { id: 'core-1', roles: ['primary'], version: '3.0.0', state: { apps: ['a'] } },
  ],
});

let dynamodb: LocalDynamoDb;
const roots: string[] = [];

async function run(name: string, opts: Partial<RehearsalOptions>): Promise<RehearsalResult> {
  await mkdir('.tmp', { recursive: true });
  const result = await rehearse({
    cluster: cluster(name),
    targetVersion: '3.1.0',
    workdir: await mkdtemp(join('.tmp', `e2e-approval-${name}-`)),
    dynamodb,
    keepServices: true,
    ...opts,
  });
  roots.push(...result.nodeRoots.values());
  return result;
}

const root = (r: RehearsalResult, id: string) => r.nodeRoots.get(id) as string;
const store = (r: RehearsalResult) => new FleetStore(documentClient(), r.tableName);
const postFails = (times = Number.POSITIVE_INFINITY) => [{ nodeId: 'dea-1', step: 'post-upgrade-validation' as const, times }];
const originalState = `${JSON.stringify(cluster('x').nodes[0]?.state, null, 2)}\n`;

/** The run ended with maintenance mode off and the lock released, and DynamoDB says so. */
async function expectClosed(r: RehearsalResult): Promise<void> {
  expect(r.summary.lockReleased).toBe(true);
  expect(r.summary.maintenanceMode.enabledAt).not.toBeNull();
  expect(r.summary.maintenanceMode.disabledAt).not.toBeNull();
  expect((await inspectSandbox(root(r, 'core-1'))).maintenance).toBe(false);
  await expect(store(r).getLock(r.summary.cluster)).resolves.toBeNull();
  await expect(store(r).pendingApprovals()).resolves.toEqual([]);
}

beforeAll(async () => {
  dynamodb = await startLocalDynamoDb();
});

afterAll(async () => {
  await Promise.all(roots.map((r) => stopService(r)));
  await dynamodb?.stop();
});

// One run serves the evidence and the rollback: a failed validation answered rollback.
let rolledBack: Promise<RehearsalResult> | undefined;
const rollbackRun = () => (rolledBack ??= run('rollback', { decisions: ['rollback'], failures: postFails() }));

describe('the operator is asked', () => {
  it('by a notification carrying the evidence and how to decide', async () => {
    const r = await rollbackRun();
    const asked = r.notifications.find((n) => n.attributes.kind === 'approval');
    expect(asked?.subject).toBe('fleet-upgrade: dea-1 failed post-upgrade-validation in approval-rollback - decision needed');
    for (const text of [
      'Post-upgrade validation failed on node dea-1 (dea)',
      'Exit code: 1',
      'Versions: 3.0.0 → 3.1.0',
      `Backup: ${r.summary.runId}`,
      'injected failure of post-upgrade-validation',
      'rollback: Restore this node',
    ]) {
      expect(asked?.message).toContain(text);
    }
    // The token never leaves DynamoDB: no notification carries it.
    const approval = await store(r).getApproval(asked?.attributes.approvalId ?? '');
    // --decision answered through the approval page's sign-in, GET + POST, as a human would (alice by default).
    const alice = { issuer: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), subject: 'alice@example.com', email: 'alice@example.com' };
    expect(approval).toMatchObject({
      state: 'DECIDED',
      decision: 'rollback',
      decidedBy: 'alice@example.com',
      decidedIdentity: alice,
      byTimeout: false,
      nodeId: 'dea-1',
      failedStep: 'post-upgrade-validation',
    });
    // Who decided is in the summary and on the node's record.
    expect(r.summary.nodes['dea-1']?.decided).toEqual({ decision: 'rollback', by: 'alice@example.com', byTimeout: false, identity: alice });
    await expect(store(r).getNodeRecord(r.summary.cluster, 'dea-1')).resolves.toMatchObject({
      lastDecision: { decision: 'rollback', by: 'alice@example.com', identity: alice, runId: r.summary.runId },
    });
    expect(asked?.message).toMatch(/Decide here \(the page asks you to confirm\): http:\/\/127\.0\.0\.1:\d+\/approval\?id=[a-z0-9-]+&exp=\d+&sig=[0-9a-f]{64}/);
    expect(r.notifications.map((n) => n.message).join('\n')).not.toContain(approval?.taskToken ?? 'no token');
  });
});

describe('who decides', () => {
  it('a signed-in person who is not an approver is refused; the approver after them decides', async () => {
    const lines: string[] = [];
    const r = await run('refused', {
      decisions: ['skip', 'rollback'],
      decideAs: ['bob@example.com', 'carol@example.com'],
      failures: postFails(),
      progress: (l) => lines.push(l),
    });
    expect(lines.join('\n')).toContain('the decision skip by bob@example.com was not taken: approval page answered 403: You are not an approver');
    expect(r.summary.status).toBe('ROLLED_BACK');
    expect(r.summary.nodes['dea-1']?.decided).toMatchObject({ decision: 'rollback', by: 'carol@example.com' });
  });

  it('without sign-in the link alone decides, and the email and the record say so', async () => {
    const r = await run('link-only', { decisions: ['rollback'], signIn: false, failures: postFails() });
    const asked = r.notifications.find((n) => n.attributes.kind === 'approval');
    const approval = await store(r).getApproval(asked?.attributes.approvalId ?? '');
    expect(approval).toMatchObject({ decision: 'rollback', decidedBy: 'approval page (127.0.0.1)' });
    expect(approval?.decidedIdentity).toBeUndefined();
    expect(r.summary.nodes['dea-1']?.decided).toEqual({ decision: 'rollback', by: 'approval page (127.0.0.1)', byTimeout: false });
  });
});

describe('each decision', () => {
  it('rollback: the node is restored (previous release, state byte for byte, service healthy) and the run stops', async () => {
    const r = await rollbackRun();
    expect(r.summary.status).toBe('ROLLED_BACK');
    expect(r.summary.nodes['dea-1']).toMatchObject({ status: 'ROLLED_BACK', from: '3.0.0', to: '3.0.0' });
    expect(await inspectSandbox(root(r, 'dea-1'))).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
    expect(await readFile(join(root(r, 'dea-1'), 'var/lib/app/state.json'), 'utf8')).toBe(originalState);
    for (const id of ['dea-2', 'core-1']) {
      expect(r.summary.nodes[id]?.status, id).toBe('NOT_STARTED');
      expect(await inspectSandbox(root(r, id)), id).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
    }
    await expect(store(r).getNodeRecord(r.summary.cluster, 'dea-1')).resolves.toMatchObject({ status: 'ROLLED_BACK', version: '3.0.0' });
    await expectClosed(r);
  });

  it('retry: the failed step runs again and the run goes on', async () => {
    const r = await run('retry', { decisions: ['retry'], failures: postFails(1) });
    expect(r.summary.status).toBe('SUCCEEDED');
    expect(r.summary.counts.upgraded).toBe(3);
    // The retry does not hide the failure: the summary keeps the failed attempt beside the step's success.
    expect(r.summary.nodes['dea-1']?.steps.find((s) => s.step === 'post-upgrade-validation')).toMatchObject({
      status: 'SUCCEEDED',
      failedAttempts: [{ exitCode: 1, outputTail: expect.stringContaining('injected failure of post-upgrade-validation') }],
    });
    expect(formatSummary(r.summary)).toMatch(
      /Retried steps:\n {2}dea-1 post-upgrade-validation: attempt 1 failed \(exit code 1: .*injected failure.*\); retried, then SUCCEEDED/,
    );
    expect(await inspectSandbox(root(r, 'dea-1'))).toMatchObject({ currentLink: 'releases/3.1.0', serviceHealthy: true });
    await expect(store(r).getNodeRecord(r.summary.cluster, 'dea-1')).resolves.toMatchObject({ status: 'UPGRADED', version: '3.1.0' });
    await expectClosed(r);
  });

  it('skip: the node is restored and left behind, the other nodes upgrade, the run ends PARTIAL', async () => {
    const r = await run('skip', { decisions: ['skip'], failures: postFails() });
    expect(r.summary.status).toBe('PARTIAL');
    expect(r.summary.nodes['dea-1']).toMatchObject({ status: 'ROLLED_BACK', to: '3.0.0' });
    expect(await inspectSandbox(root(r, 'dea-1'))).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
    expect(await readFile(join(root(r, 'dea-1'), 'var/lib/app/state.json'), 'utf8')).toBe(originalState);
    for (const id of ['dea-2', 'core-1']) {
      expect(r.summary.nodes[id]?.status, id).toBe('UPGRADED');
      expect(await inspectSandbox(root(r, id)), id).toMatchObject({ currentLink: 'releases/3.1.0', serviceHealthy: true });
    }
    await expectClosed(r);
  });

  it('abort: the run stops without touching the node, which is marked NEEDS_ATTENTION', async () => {
    const r = await run('abort', { decisions: ['abort'], failures: postFails() });
    expect(r.summary.status).toBe('ABORTED');
    // Left exactly as the failure left it: the new release is current (it failed validation after the switch).
    expect(r.summary.nodes['dea-1']).toMatchObject({ status: 'NEEDS_ATTENTION', to: null });
    expect(await inspectSandbox(root(r, 'dea-1'))).toMatchObject({ currentLink: 'releases/3.1.0' });
    await expect(store(r).getNodeRecord(r.summary.cluster, 'dea-1')).resolves.toMatchObject({ status: 'NEEDS_ATTENTION' });
    expect(r.summary.nodes['dea-2']?.status).toBe('NOT_STARTED');
    await expectClosed(r);
  });
});

describe('without a decision', () => {
  it('the timeout decides onTimeout (rollback), recorded as decided by timeout, after reminders', async () => {
    const r = await run('timeout', { approvalTimeoutMinutes: 0.1, failures: postFails() });
    expect(r.summary.status).toBe('ROLLED_BACK');
    const { outcomes } = await store(r).runRecords(r.summary.runId);
    expect(outcomes.find((o) => o.nodeId === 'dea-1')).toMatchObject({ status: 'ROLLED_BACK', decision: 'rollback', decidedBy: 'timeout', byTimeout: true });
    expect(await inspectSandbox(root(r, 'dea-1'))).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
    await expectClosed(r);
    // Meanwhile the stack's schedule rule, run locally every second, reminded the approvers (6 s: halfway at 3 s,
    // the last 1.5 s before the deadline); a loaded machine may merge or miss one, never send one twice.
    const asked = r.notifications.find((n) => n.attributes.kind === 'approval');
    const reminders = r.notifications.filter((n) => n.attributes.kind === 'approval-reminder');
    expect(reminders.length).toBeGreaterThanOrEqual(1);
    expect(new Set(reminders.map((n) => n.attributes.reminder)).size).toBe(reminders.length);
    for (const n of reminders) {
      expect(n.attributes.approvalId).toBe(asked?.attributes.approvalId);
      expect(n.subject).toMatch(/^fleet-upgrade: reminder - decide by \d{4}-\d\d-\d\d \d\d:\d\d UTC on dea-1 in approval-timeout$/);
      expect(n.message).toContain(`fleet-upgrade decide ${asked?.attributes.approvalId ?? '?'} rollback|retry|skip|abort`);
      expect(n.message).toContain('the run will rollback');
    }
    await expect(store(r).getApproval(asked?.attributes.approvalId ?? '')).resolves.toMatchObject({
      reminded: expect.arrayContaining(reminders.map((n) => n.attributes.reminder)),
    });
  });
});

describe('a rollback that fails', () => {
  it('ends FAILED with the node NEEDS_ATTENTION and a second notification', async () => {
    const r = await run('rollback-fails', {
      decisions: ['rollback'],
      failures: [...postFails(), { nodeId: 'dea-1', step: 'rollback', times: Number.POSITIVE_INFINITY }],
    });
    expect(r.summary.status).toBe('FAILED');
    expect(r.summary.nodes['dea-1']).toMatchObject({ status: 'NEEDS_ATTENTION', to: null });
    const second = r.notifications.find((n) => n.attributes.kind === 'rollback-failed');
    expect(second?.subject).toBe('fleet-upgrade: ROLLBACK FAILED on dea-1 (approval-rollback-fails)');
    await expectClosed(r);
  });
});

describe('a run stopped while it waits for a decision (Ctrl-C in the rehearsal, fleet-upgrade stop in AWS)', () => {
  it('rolls the node back, closes the approval, turns maintenance mode off and releases the lock', async () => {
    const controller = new AbortController();
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: dynamodb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    );
    const watching = new FleetStore(db, TABLE_NAME);
    // Nobody answers (no decisions): once the operator is asked, the run is stopped.
    const asked = (async () => {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const pending = await watching.pendingApprovals().catch(() => []);
        if (pending.some((a) => a.cluster === 'approval-stopped')) return controller.abort('operator pressed Ctrl-C');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    try {
      const r = await run('stopped', { failures: postFails(), signal: controller.signal });
      await asked;
      // The summary names the failure the operator was asked about; the execution says it was stopped.
      expect(r.summary).toMatchObject({
        status: 'FAILED',
        execution: { status: 'ABORTED' },
        failure: { error: 'StepFailed', node: 'dea-1', step: 'post-upgrade-validation' },
      });
      expect(r.summary.nodes['dea-1']?.status).toBe('FAILED');
      expect(r.summary.nodes['dea-1']?.steps.at(-1)).toMatchObject({ step: 'rollback', status: 'SUCCEEDED' });
      expect(await inspectSandbox(root(r, 'dea-1'))).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
      expect(await readFile(join(root(r, 'dea-1'), 'var/lib/app/state.json'), 'utf8')).toBe(originalState);
      for (const id of ['dea-2', 'core-1'])
        expect(await inspectSandbox(root(r, id)), id).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
      const approval = await store(r).getApproval(r.notifications.find((n) => n.attributes.kind === 'approval')?.attributes.approvalId ?? '');
      expect(approval).toMatchObject({ state: 'DECIDED', decidedBy: 'the run was stopped' });
      await expectClosed(r);
    } finally {
      db.destroy();
    }
  });
});

describe('with nodes upgrading in parallel', () => {
  it('a failure lets the in-flight nodes finish their current node, and no further node starts', async () => {
    const parallel: ClusterFile = {
      cluster: 'approval-parallel',
      nodes: [
        { id: 'core-1', roles: ['primary'], version: '3.0.0' },
        ...['dea-1', 'dea-2', 'dea-3', 'dea-4'].map((id) => ({ id, roles: ['dea'], version: '3.0.0' })),
      ],
    };
    const r = await run('parallel', {
      cluster: parallel,
      concurrency: { dea: 2 },
      decisions: ['rollback'],
      failures: [{ nodeId: 'dea-1', step: 'pre-upgrade-validation', times: Number.POSITIVE_INFINITY }],
    });
    expect(r.summary.status).toBe('ROLLED_BACK');
    expect(r.summary.nodes['dea-1']?.status).toBe('ROLLED_BACK');
    // dea-2 was in flight: it finished its node instead of being cut off mid-step.
    expect(r.summary.nodes['dea-2']?.status).toBe('UPGRADED');
    expect(r.summary.nodes['dea-4']?.status).toBe('NOT_STARTED');
    // Every node is at its old or its new version, never in between.
    for (const id of Object.keys(r.summary.nodes)) {
      expect(['UPGRADED', 'ROLLED_BACK', 'NOT_STARTED'], id).toContain(r.summary.nodes[id]?.status);
      const seen = await inspectSandbox(root(r, id));
      expect(seen.serviceHealthy, id).toBe(true);
      expect(seen.currentLink, id).toBe(r.summary.nodes[id]?.status === 'UPGRADED' ? 'releases/3.1.0' : 'releases/3.0.0');
    }
    await expectClosed(r);
  });
});
