import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
let dir: string;

/** Runs the CLI as an operator does (same entry point as `npm run fleet-upgrade --`), returning exit code and streams. */
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
  dir = await mkdtemp(join('.tmp', 'cli-'));
});

describe('fleet-upgrade rehearse (CLI)', () => {
  it('prints only the summary JSON on stdout with --json and exits 1 when a step fails', async () => {
    const cluster = join(dir, 'small.json');
    await writeFile(cluster, JSON.stringify({
      cluster: 'cli-small',
      nodes: [
        { id: 'dea-1', roles: ['dea'], version: '3.0.0' },
        { id: 'core-1', roles: ['primary'], version: '3.0.0' },
      ],
    }));
    const { code, stdout, stderr } = await cli('rehearse', '--cluster', cluster, '--target-version', '3.1.0', '--workdir', join(dir, 'work'), '--fail', 'core-1:post-upgrade-validation', '--decision', 'rollback', '--json');
    expect(code, stderr).toBe(1);
    const summary = JSON.parse(stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      status: 'ROLLED_BACK',
      cluster: 'cli-small',
      targetVersion: '3.1.0',
      order: ['dea-1', 'core-1'],
      nodes: { 'dea-1': { from: '3.0.0', to: '3.1.0', status: 'UPGRADED' }, 'core-1': { status: 'ROLLED_BACK', from: '3.0.0', to: '3.0.0' } },
      failure: { node: 'core-1', step: 'post-upgrade-validation' },
      lockReleased: true,
      execution: { events: expect.any(Number), stateTransitions: expect.any(Number) },
    });
    expect((summary.maintenanceMode as { disabledAt: string | null }).disabledAt).not.toBeNull();
    expect(stderr).toContain('Post-upgrade validation: FAILED');
  });

  it.each([
    [['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1;reboot'], 'targetVersion'],
    [['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1.0', '--role-order', 'dea,dea'], 'roleOrder'],
    [['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1.0', '--fail', 'dea-1:explode'], '--fail'],
    [['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1.0', '--fail', 'nobody:download'], '--fail'],
    [['rehearse', '--cluster', 'does-not-exist.json', '--target-version', '3.1.0'], '--cluster'],
    [['rehearse', '--target-version', '3.1.0'], '--cluster'],
    [['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '2.9.0'], 'targetVersion: 2.9.0 is older than base-1\'s 3.0.0 and 6 more nodes: that is a downgrade, which needs force'],
    [['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1.0', '--runbook', '../../etc'], 'runbook: expected one of kato, release-dir'],
    [['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1.0', '--https-proxy', 'http://10.0.0.1:3128'], 'httpsProxy'],
    [['frobnicate'], 'unknown command'],
  ])('exits 2 on bad input %j, naming %s, touching nothing', async (args, named) => {
    const { code, stdout, stderr } = await cli(...args, '--workdir', join(dir, 'untouched'));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(named);
    await expect(import('node:fs').then((fs) => fs.existsSync(join(dir, 'untouched')))).resolves.toBe(false);
  });
});
