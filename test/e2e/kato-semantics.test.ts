import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rehearse, type RehearsalOptions, type RehearsalResult } from '../../local/rehearsal.js';
import type { ClusterFile } from '../../local/cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { inspectSandbox, stopService } from '../../local/sandbox.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient } from '../../adapters/aws-clients.js';
import { InputValidationError } from '../../core/errors.js';
import { invariantViolations } from '../support/invariants.js';

const execFileAsync = promisify(execFile);
/** The simulated ALS node's kato, as the rehearsal puts it on every sandbox's PATH with the kato runbook. */
const KATO = resolve('local/als-node/kato');

/** A small cluster with every kind of node: a DEA, the core node, a data service. */
const small = (name: string, versions: Record<string, string> = {}): ClusterFile => ({
  cluster: `kato-${name}`,
  nodes: [
    { id: 'core-1', roles: ['primary', 'controller'], version: versions['core-1'] ?? '3.0.0', state: { apps: ['a', 'b'] } },
    { id: 'dea-1', roles: ['dea'], version: versions['dea-1'] ?? '3.0.0', state: { droplets: 3 } },
    { id: 'mysql-1', roles: ['mysql'], version: versions['mysql-1'] ?? '3.0.0', state: { databases: ['orders'] } },
  ],
});

let dynamodb: LocalDynamoDb;
const roots: string[] = [];

async function run(name: string, opts: Partial<RehearsalOptions> = {}): Promise<RehearsalResult> {
  await mkdir('.tmp', { recursive: true });
  const result = await rehearse({
    cluster: small(name),
    targetVersion: '3.1.0',
    workdir: await mkdtemp(join('.tmp', `e2e-kato-${name}-`)),
    dynamodb,
    keepServices: true,
    ...opts,
  });
  roots.push(...result.nodeRoots.values());
  return result;
}

const root = (result: RehearsalResult, id: string) => result.nodeRoots.get(id) as string;
const store = (result: RehearsalResult) => new FleetStore(documentClient(), result.tableName);

/** Every failure ends with maintenance mode off and the lock released; DynamoDB says so too. */
async function expectCleanStop(result: RehearsalResult, status: string = 'FAILED'): Promise<void> {
  expect(result.summary.status).toBe(status);
  expect(result.summary.lockReleased).toBe(true);
  if (result.summary.maintenanceMode.enabledAt !== null) expect(result.summary.maintenanceMode.disabledAt).not.toBeNull();
  expect((await inspectSandbox(root(result, 'core-1'))).maintenance).toBe(false);
  await expect(store(result).getLock(result.summary.cluster)).resolves.toBeNull();
}

beforeAll(async () => {
  dynamodb = await startLocalDynamoDb();
});

afterAll(async () => {
  await Promise.all(roots.map((r) => stopService(r)));
  await dynamodb?.stop();
});

describe('the kato runbook, on simulated ALS nodes (local/als-node/kato)', () => {
  const demo = JSON.parse(readFileSync('examples/demo-cluster.json', 'utf8')) as ClusterFile;
  const cluster = (name: string): ClusterFile => ({ ...demo, cluster: `kato-${name}` });
  /** What the node's own kato answers, as an operator on the node would ask it. */
  const kato = async (r: RehearsalResult, id: string, command: string) =>
    (await execFileAsync(KATO, command.split(' '), { env: { FLEET_UPGRADE_ROOT: root(r, id), PATH: process.env.PATH } })).stdout.trim();
  /** The node's kato commands, in order (without their times). */
  const calls = async (r: RehearsalResult, id: string) =>
    (await readFile(join(root(r, id), 'var/log/kato/commands.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => line.replace(/^\S+ /, ''));
  const backup = (r: RehearsalResult, id: string) => join(root(r, id), 'var/lib/fleet-upgrade/backups', r.summary.runId, 'data.tgz');

  // The demo cluster and three more nodes: ten, as an ALS cluster of some size has.
  const ten = (): ClusterFile => {
    const base = cluster('ten');
    const more = [
      { id: 'dea-3', roles: ['dea'], version: '3.0.0', state: { droplets: 4 } },
      { id: 'router-2', roles: ['router'], version: '3.0.0', state: { routes: 12 } },
      { id: 'mysql-2', roles: ['mysql'], version: '3.0.0', state: { databases: ['audit'] } },
    ];
    return { ...base, nodes: [...base.nodes, ...more] };
  };

  describe('a ten-node cluster', () => {
    let result: RehearsalResult;
    beforeAll(async () => {
      result = await run('ten', { cluster: ten(), runbook: 'kato' });
    });

    it("upgrades every node through kato commands, in the seed procedure's order", async () => {
      expect(result.summary.status).toBe('SUCCEEDED');
      expect(result.summary.order).toEqual(['dea-1', 'dea-2', 'dea-3', 'controller-1', 'router-1', 'router-2', 'base-1', 'core-1', 'mysql-1', 'mysql-2']);
      const pipeline = (id: string, retire: boolean) => [
        'node inspect',
        ...(retire ? ['node retire', 'node retire --status'] : []),
        'node version',
        `data export --only-this-node ${backup(result, id)}`,
        'node upgrade --version 3.1.0 --skip-download --no-restart',
        'restart',
        'status',
        'node version',
        'node inspect',
      ];
      // Before the window: version check and the package staged (kato --download-only) on every node.
      const staged = ['node version', 'node upgrade --download-only --version 3.1.0'];
      expect(await calls(result, 'dea-1')).toEqual([...staged, ...pipeline('dea-1', true)]);
      expect(await calls(result, 'mysql-1')).toEqual([...staged, ...pipeline('mysql-1', false)]);
      // The core node also switches maintenance mode: on before the first node changes, off at the very end.
      expect(await calls(result, 'core-1')).toEqual([
        ...staged,
        'config set cloud_controller_ng maintenance_mode true',
        ...pipeline('core-1', false),
        'config set cloud_controller_ng maintenance_mode false',
      ]);
    });

    it("leaves each node's kato reporting the target version, its service up and its data intact", async () => {
      expect(await invariantViolations(result, ten())).toEqual([]);
      for (const id of Object.keys(result.summary.nodes)) {
        expect(await kato(result, id, 'node version'), id).toBe('3.1.0');
        expect(await kato(result, id, 'status'), id).toMatch(/^app +RUNNING +version 3\.1\.0, pid \d+$/);
        expect(result.summary.nodes[id], id).toMatchObject({ from: '3.0.0', to: '3.1.0', status: 'UPGRADED' });
      }
    });
  });

  describe('after a failure', () => {
    let result: RehearsalResult;
    beforeAll(async () => {
      // dea-1's restart fails (answered skip: rolled back, the run goes on), then dea-2's upgrade (answered rollback).
      result = await run('rollback', {
        cluster: cluster('rollback'),
        runbook: 'kato',
        failures: [
          { nodeId: 'dea-1', step: 'restart', times: Number.POSITIVE_INFINITY },
          { nodeId: 'dea-2', step: 'upgrade', times: Number.POSITIVE_INFINITY },
        ],
        decisions: ['skip', 'rollback'],
      });
    });

    it('an upgrade that fails and is rolled back leaves kato at the old version with the pre-upgrade data', async () => {
      expect(result.summary.status).toBe('ROLLED_BACK');
      expect(result.summary.failure).toMatchObject({ node: 'dea-2', step: 'upgrade' });
      expect(result.summary.nodes['dea-2']).toMatchObject({ from: '3.0.0', to: '3.0.0', status: 'ROLLED_BACK' });
      // Still at its version: kato re-imports the exported data and restarts the node back into service.
      expect((await calls(result, 'dea-2')).slice(-4)).toEqual([
        'node version',
        `data import --only-this-node ${backup(result, 'dea-2')}`,
        'restart',
        'status',
      ]);
      expect(await kato(result, 'dea-2', 'node version')).toBe('3.0.0');
      // State, service, maintenance mode, lock and DynamoDB: the promises every run keeps.
      expect(await invariantViolations(result, cluster('rollback'))).toEqual([]);
    });

    it('a node switched before its failure is switched back by kato to the release it still has', async () => {
      expect(result.summary.nodes['dea-1']).toMatchObject({ from: '3.0.0', to: '3.0.0' });
      expect((await calls(result, 'dea-1')).slice(-5)).toEqual([
        'node version',
        'node upgrade --version 3.0.0 --skip-download --no-restart --force',
        `data import --only-this-node ${backup(result, 'dea-1')}`,
        'restart',
        'status',
      ]);
      expect(await kato(result, 'dea-1', 'node version')).toBe('3.0.0');
    });
  });
});

describe('HTTPS_PROXY', () => {
  it('reaches the nodes: packages are served only through the loopback proxy, and every download went through it', async () => {
    const result = await run('proxy', { httpsProxy: true });
    expect(result.summary.status).toBe('SUCCEEDED');
    const downloads = result.proxied.filter((r) => r.endsWith('/3.1.0/app-3.1.0.tar.gz'));
    expect(downloads).toHaveLength(3);
    expect(result.proxied.filter((r) => r.endsWith('/3.1.0/SHA256SUMS'))).toHaveLength(3);
  });
});

describe('pre-staging', () => {
  it('a download that fails is reported before the window opens, with nothing touched', async () => {
    const result = await run('download-fails', { failures: [{ nodeId: 'mysql-1', step: 'download', times: Number.POSITIVE_INFINITY }] });
    await expectCleanStop(result);
    expect(result.summary.maintenanceMode).toMatchObject({ enabledAt: null, disabledAt: null });
    expect(result.summary.failure).toMatchObject({ node: 'mysql-1', step: 'download', exitCode: 1 });
    expect(result.summary.nodes['mysql-1']).toMatchObject({ status: 'FAILED', from: '3.0.0', to: '3.0.0' });
    for (const id of ['dea-1', 'core-1']) expect(result.summary.nodes[id]?.status, id).toBe('NOT_STARTED');
    for (const id of ['dea-1', 'core-1', 'mysql-1']) {
      expect(await inspectSandbox(root(result, id)), id).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
    }
    await expect(store(result).getNodeRecord(result.summary.cluster, 'mysql-1')).resolves.toMatchObject({
      status: 'FAILED',
      version: '3.0.0',
      roles: ['mysql'],
    });
  });

  it('prepareOnly stages the package on every node that needs it and stops: no window', async () => {
    const result = await run('prepare', { prepareOnly: true, cluster: small('prepare', { 'dea-1': '3.1.0' }) });
    expect(result.summary.status).toBe('PREPARED');
    expect(result.summary.counts).toMatchObject({ prepared: 2, skipped: 1, upgraded: 0 });
    expect(result.summary.maintenanceMode).toMatchObject({ enabledAt: null, disabledAt: null });
    expect(result.summary.lockReleased).toBe(true);
    for (const id of ['core-1', 'mysql-1']) {
      expect(await inspectSandbox(root(result, id)), id).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
      expect(existsSync(join(root(result, id), 'var/lib/fleet-upgrade/downloads/3.1.0/app-3.1.0.tar.gz.verified')), id).toBe(true);
    }
  });
});

describe('pre- and post-upgrade validation', () => {
  it('a failing inspect stops the run before the node changes', async () => {
    const result = await run('inspect-fails', {
      decisions: ['rollback'],
      failures: [{ nodeId: 'dea-1', step: 'pre-upgrade-validation', times: Number.POSITIVE_INFINITY }],
    });
    await expectCleanStop(result, 'ROLLED_BACK');
    expect(result.summary.failure).toMatchObject({ node: 'dea-1', step: 'pre-upgrade-validation' });
    expect(result.summary.nodes['dea-1']).toMatchObject({ status: 'ROLLED_BACK', from: '3.0.0', to: '3.0.0' });
    for (const id of ['dea-1', 'core-1', 'mysql-1']) {
      expect(await inspectSandbox(root(result, id)), id).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
    }
  });

  it('with ignoreInspectFailures the failure is a warning on the step and the run goes on', async () => {
    const result = await run('inspect-ignored', {
      ignoreInspectFailures: true,
      failures: [{ nodeId: 'dea-1', step: 'pre-upgrade-validation', times: Number.POSITIVE_INFINITY }],
    });
    expect(result.summary.status).toBe('SUCCEEDED');
    const inspect = result.summary.nodes['dea-1']?.steps.find((s) => s.step === 'pre-upgrade-validation');
    expect(inspect).toMatchObject({ status: 'FAILED_IGNORED', exitCode: 1 });
    expect(inspect?.warnings[0]).toMatch(
      /pre-upgrade-validation failed \(exit code 1\), ignored as asked \(ignoreInspectFailures\): rehearsal: injected failure/,
    );
    expect(result.summary.warnings).toHaveLength(1);
    expect(await inspectSandbox(root(result, 'dea-1'))).toMatchObject({ currentLink: 'releases/3.1.0', serviceHealthy: true });
  });

  it('a failing post-upgrade validation takes the failure path', async () => {
    const result = await run('post-fails', {
      decisions: ['rollback'],
      failures: [{ nodeId: 'core-1', step: 'post-upgrade-validation', times: Number.POSITIVE_INFINITY }],
    });
    await expectCleanStop(result, 'ROLLED_BACK');
    expect(result.summary.failure).toMatchObject({ node: 'core-1', step: 'post-upgrade-validation' });
    expect(result.summary.nodes['dea-1']?.status).toBe('UPGRADED');
    // Changed, not validated, then rolled back: at its old release again, serving.
    expect(result.summary.nodes['core-1']).toMatchObject({ status: 'ROLLED_BACK', to: '3.0.0' });
    expect(await inspectSandbox(root(result, 'core-1'))).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
    expect(result.summary.nodes['mysql-1']?.status).toBe('NOT_STARTED');
    expect(await inspectSandbox(root(result, 'mysql-1'))).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
  });
});

describe('version check', () => {
  it('skips nodes at or above the target and upgrades the rest of a mixed cluster', async () => {
    const result = await run('mixed', { cluster: small('mixed', { 'dea-1': '3.1.0', 'mysql-1': '3.2.0' }) });
    expect(result.summary.status).toBe('SUCCEEDED');
    expect(result.summary.counts).toMatchObject({ upgraded: 1, skipped: 2 });
    await expect(store(result).runRecords(result.summary.runId)).resolves.toMatchObject({
      outcomes: expect.arrayContaining([
        expect.objectContaining({ nodeId: 'dea-1', status: 'SKIPPED', reason: 'already at 3.1.0' }),
        expect.objectContaining({ nodeId: 'mysql-1', status: 'SKIPPED', reason: 'already above 3.1.0 (at 3.2.0); force downgrades it' }),
      ]),
    });
    expect(await inspectSandbox(root(result, 'mysql-1'))).toMatchObject({ currentLink: 'releases/3.2.0', serviceHealthy: true });
    expect(await inspectSandbox(root(result, 'core-1'))).toMatchObject({ currentLink: 'releases/3.1.0', serviceHealthy: true });
  });

  it('refuses a downgrade target unless forced, before anything is created', async () => {
    const error = await run('downgrade', { cluster: small('downgrade', { 'core-1': '3.2.0', 'dea-1': '3.2.0', 'mysql-1': '3.1.0' }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputValidationError);
    expect((error as InputValidationError).field).toBe('targetVersion');
    expect((error as Error).message).toBe(
      "targetVersion: 3.1.0 is older than core-1's 3.2.0 and 1 more node: that is a downgrade, which needs force (--force); nothing was changed",
    );
  });
});

describe('maintenance mode', () => {
  it('goes off and the lock is released even when Lambda functions crash inside the window', async () => {
    const result = await run('lambda-crash', {
      decisions: ['abort'],
      lambdaFaults: [
        { handler: 'run-step', step: 'upgrade', nodeId: 'core-1', times: Number.POSITIVE_INFINITY },
        // Recording the failure crashes too: the failure path must not depend on it.
        { handler: 'record-node', nodeId: 'core-1', times: Number.POSITIVE_INFINITY },
      ],
    });
    await expectCleanStop(result);
    expect(result.summary.maintenanceMode.enabledAt).not.toBeNull();
    expect(result.summary.failure?.message).toContain('injected crash of the record-node function');
    expect(result.summary.nodes['dea-1']?.status).toBe('UPGRADED');
    // core-1 never started its upgrade step: it is still on its old release, serving.
    expect(await inspectSandbox(root(result, 'core-1'))).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
    expect(result.summary.nodes['mysql-1']?.status).toBe('NOT_STARTED');
  });
});

describe('closing the run', () => {
  it('retries summarizing (and releasing the lock, the same way) when the function crashes', async () => {
    const result = await run('close-crash', { lambdaFaults: [{ handler: 'summarize', times: 1 }] });
    expect(result.summary.status).toBe('SUCCEEDED');
    expect(result.summary.lockReleased).toBe(true);
    expect(result.summary.execution.stateTransitions).toBeGreaterThan(0);
  });
});

describe('per-role concurrency', () => {
  it('upgrades DEA nodes in parallel, never more at once than minHealthy allows', async () => {
    const cluster: ClusterFile = {
      cluster: 'kato-parallel',
      nodes: [{ id: 'core-1', roles: ['primary'], version: '3.0.0' }, ...['dea-1', 'dea-2', 'dea-3'].map((id) => ({ id, roles: ['dea'], version: '3.0.0' }))],
    };
    // 3 asked, but 1 of the 3 DEAs must stay in service: 2 at a time.
    const result = await run('parallel', { cluster, concurrency: { dea: 3 }, minHealthy: { dea: 1 } });
    expect(result.summary.status).toBe('SUCCEEDED');
    const { checkpoints } = await store(result).runRecords(result.summary.runId);
    // Each DEA is out of service from its retire to its post-upgrade validation.
    const out = ['dea-1', 'dea-2', 'dea-3'].map((id) => {
      const mine = checkpoints.filter((c) => c.nodeId === id);
      const from = mine.find((c) => c.step === 'retire')?.startedAt ?? '';
      const to = mine.find((c) => c.step === 'post-upgrade-validation')?.finishedAt ?? '';
      return [Date.parse(from), Date.parse(to)] as const;
    });
    const atOnce = Math.max(...out.map(([start]) => out.filter(([s, e]) => s <= start && start < e).length));
    expect(atOnce).toBe(2);
  });
});
