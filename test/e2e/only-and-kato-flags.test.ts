import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rehearse, type RehearsalOptions, type RehearsalResult } from '../../local/rehearsal.js';
import type { ClusterFile } from '../../local/cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { inspectSandbox, stopService } from '../../local/sandbox.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient } from '../../adapters/aws-clients.js';
import { formatSummary } from '../../cli/format-summary.js';
import { invariantViolations } from '../support/invariants.js';

/** Issue 19 items 6, 7, 8 on a cluster of ten nodes: a subset run, kato's --ignore-inspect-failures after the upgrade, a role-order typo. */
const exec = promisify(execFile);
const node = (id: string, roles: string[]) => ({ id, roles, version: '3.0.0', state: { node: id, roles, data: `state of ${id}` } });
const ten = (name: string): ClusterFile => ({
  cluster: `issue19-${name}`,
  nodes: [
    node('core-1', ['primary']),
    node('dea-1', ['dea']),
    node('dea-2', ['dea']),
    node('dea-3', ['dea']),
    node('dea-4', ['dea']),
    node('ctl-1', ['controller']),
    node('ctl-2', ['controller']),
    node('router-1', ['router']),
    node('base-1', ['base']),
    node('mysql-1', ['mysql']),
  ],
});

let dynamodb: LocalDynamoDb;
let dir: string;
const roots: string[] = [];

async function run(cluster: ClusterFile, opts: Partial<RehearsalOptions>): Promise<RehearsalResult> {
  const result = await rehearse({ cluster, targetVersion: '3.1.0', workdir: await mkdtemp(join(dir, 'work-')), dynamodb, keepServices: true, ...opts });
  roots.push(...result.nodeRoots.values());
  return result;
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', 'bin/fleet-upgrade.ts', ...args], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  await mkdir('.tmp', { recursive: true });
  dir = await mkdtemp(join('.tmp', 'e2e-issue19-'));
  dynamodb = await startLocalDynamoDb();
});

afterAll(async () => {
  await Promise.all(roots.map((r) => stopService(r)));
  await dynamodb?.stop();
});

describe('only: one node, or a few', () => {
  it('upgrades only dea-1 and ctl-1, sends the others no command, and reports them as not in the run', async () => {
    const cluster = ten('only');
    const result = await run(cluster, { only: ['dea-1', 'ctl-1'] });
    const { summary } = result;
    expect(summary.status).toBe('SUCCEEDED');
    expect(summary.order).toEqual(['dea-1', 'ctl-1']);
    for (const n of cluster.nodes) {
      const expected = ['dea-1', 'ctl-1'].includes(n.id) ? 'releases/3.1.0' : 'releases/3.0.0';
      expect(await inspectSandbox(result.nodeRoots.get(n.id) as string), n.id).toMatchObject({
        currentLink: expected,
        serviceHealthy: true,
        maintenance: false,
      });
    }
    expect(summary.notInRun).toEqual(['base-1', 'core-1', 'ctl-2', 'dea-2', 'dea-3', 'dea-4', 'mysql-1', 'router-1']);
    expect(summary.counts).toMatchObject({ upgraded: 2, notInRun: 8 });
    expect(Object.values(summary.counts).reduce((a, b) => a + b, 0)).toBe(cluster.nodes.length);
    // Maintenance mode is cluster-wide: switched on the core node though it is not in the run.
    expect(summary.maintenanceMode).toMatchObject({ node: 'core-1', enabledAt: expect.any(String), disabledAt: expect.any(String) });
    const { checkpoints } = await new FleetStore(documentClient(), result.tableName).runRecords(summary.runId);
    expect([...new Set(checkpoints.map((c) => c.nodeId))].sort()).toEqual(['core-1', 'ctl-1', 'dea-1']);
    expect(
      checkpoints
        .filter((c) => c.nodeId === 'core-1')
        .map((c) => c.step)
        .sort(),
    ).toEqual(['maintenance-off', 'maintenance-on']);
    expect(formatSummary(summary)).toContain('2 upgraded, 0 skipped, 0 failed, 0 not started, 8 not in this run');
    expect(formatSummary(summary)).toContain(
      'Not in this run (only): base-1, core-1, ctl-2, dea-2, dea-3, dea-4, mysql-1, router-1: left alone (core-1 only switched maintenance mode)',
    );
    expect(await invariantViolations(result, cluster)).toEqual([]);
  }, 120_000);
});

describe('ignoreInspectFailures after the upgrade (kato --ignore-inspect-failures in full)', () => {
  it('records a failed post-upgrade validation as a warning, counts the node as upgraded, and goes on', async () => {
    const cluster: ClusterFile = { cluster: 'issue19-post-ignored', nodes: ten('x').nodes.filter((n) => ['core-1', 'dea-1', 'dea-2', 'ctl-1'].includes(n.id)) };
    const result = await run(cluster, {
      ignoreInspectFailures: true,
      failures: [{ nodeId: 'dea-2', step: 'post-upgrade-validation', times: Number.POSITIVE_INFINITY }],
    });
    const { summary } = result;
    expect(summary.status).toBe('SUCCEEDED');
    expect(summary.nodes['dea-2']).toMatchObject({ status: 'UPGRADED', from: '3.0.0', to: '3.1.0' });
    expect(summary.nodes['dea-2']?.steps.find((s) => s.step === 'post-upgrade-validation')).toMatchObject({ status: 'FAILED_IGNORED', exitCode: 1 });
    const warning =
      /^dea-2 post-upgrade-validation: post-upgrade-validation failed \(exit code 1\), ignored as asked \(ignoreInspectFailures\); the node runs the new version: rehearsal: injected failure/;
    expect(summary.warnings).toEqual([expect.stringMatching(warning)]);
    expect(formatSummary(summary)).toMatch(/Warnings:\n {2}dea-2 post-upgrade-validation: post-upgrade-validation failed/);
    expect(result.notifications.filter((n) => n.attributes.kind === 'approval')).toEqual([]);
    for (const n of cluster.nodes)
      expect(await inspectSandbox(result.nodeRoots.get(n.id) as string), n.id).toMatchObject({ currentLink: 'releases/3.1.0', serviceHealthy: true });
    expect(await invariantViolations(result, cluster)).toEqual([]);
  }, 120_000);
});

describe('a role order that cannot be a typo (CLI)', () => {
  let file: string;
  beforeAll(async () => {
    file = join(dir, 'ten.json');
    await writeFile(file, JSON.stringify(ten('typo')));
  });

  it.each([['rehearse'], ['plan'], ['start']])(
    '%s --role-order dea,contrller,router exits 2 naming contrller and suggesting controller, touching nothing',
    async (command) => {
      const workdir = join(dir, `untouched-${command}`);
      const args = command === 'rehearse' ? ['--workdir', workdir] : [];
      // start would reach for AWS after the input: an endpoint nobody listens on shows it never gets there.
      const global = command === 'start' ? ['--endpoint', 'http://127.0.0.1:9'] : [];
      const { code, stderr } = await cli(...global, command, '--cluster', file, '--target-version', '3.1.0', '--role-order', 'dea,contrller,router', ...args);
      expect(code, stderr).toBe(2);
      expect(stderr).toMatch(/roleOrder\[1\]: .*did you mean "controller"\?.*got "contrller"/);
      expect(existsSync(workdir)).toBe(false);
    },
  );

  it('accepts the role with --allow-unused-roles, and plans only the nodes of --only', async () => {
    const { code, stdout, stderr } = await cli(
      'plan',
      '--cluster',
      file,
      '--target-version',
      '3.1.0',
      '--role-order',
      'dea,contrller,router',
      '--allow-unused-roles',
      '--only',
      'dea-1,ctl-1',
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('2 to upgrade, 0 to skip; maintenance mode on core-1');
    expect(stdout).not.toMatch(/^\s+dea-2 /m);
    expect(stdout).toContain('Not in this run (only): 8 nodes, left alone: base-1, core-1, ctl-2, dea-2, dea-3, dea-4, mysql-1, router-1');
  });
});
