import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectSandbox } from '../../local/sandbox.js';
import { cliInProcess } from '../support/cli-in-process.js';
import { formatSummary } from '../../cli/format-summary.js';
import type { Summary } from '../../core/summary.js';

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
  it('in a real terminal (tmux): progress in words, one FAILED line with its reason; --json prints only the summary, which reads as what to do next', async () => {
    const cluster = join(dir, 'terminal.json');
    await writeFile(
      cluster,
      JSON.stringify({
        cluster: 'cli-terminal',
        nodes: [
          { id: 'dea-1', roles: ['dea'], version: '3.0.0' },
          { id: 'dea-2', roles: ['dea'], version: '3.0.0' },
          { id: 'core-1', roles: ['primary'], version: '3.0.0' },
        ],
      }),
    );
    const args = [
      'rehearse',
      '--cluster',
      cluster,
      '--target-version',
      '3.1.0',
      '--workdir',
      join(dir, 'terminal'),
      '--fail',
      'dea-2:upgrade',
      '--decision',
      'rollback',
    ];
    const json = join(dir, 'terminal-summary.json');
    // Progress goes to the terminal (stderr); stdout, with --json, is the summary alone.
    const command = `${[process.execPath, '--import', 'tsx', 'bin/fleet-upgrade.ts', ...args, '--json'].map((a) => `'${a}'`).join(' ')} > '${json}'`;
    const socket = `fleet-upgrade-rehearse-${process.pid}`;
    const tmux = (...a: string[]) => exec('tmux', ['-L', socket, ...a], { timeout: 10_000 });
    await tmux('new-session', '-d', '-x', '200', '-y', '100', '-c', process.cwd(), `${command}; echo "EXIT=$?"; sleep 60`);
    let screen = '';
    try {
      const deadline = Date.now() + 150_000;
      while (!/EXIT=\d+/.test(screen)) {
        expect(Date.now(), `rehearse did not finish; screen:\n${screen}`).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 250));
        screen = (await tmux('capture-pane', '-p', '-J', '-S', '-300')).stdout;
      }
    } finally {
      await tmux('kill-server').catch(() => undefined);
    }
    expect(screen, screen).toContain('EXIT=1');
    // The first line comes before the slow imports, so the operator is not left looking at nothing.
    expect(screen.trimStart().split('\n')[0]).toBe('Rehearsing cli-terminal → 3.1.0: loading the local stand-ins for AWS');
    expect(screen).toMatch(/^\[ *[\d.]+s\] dea-2 +Upgrade: FAILED after [\d.]+s — exit code 1: rehearsal: injected failure of upgrade on dea-2$/m);
    expect(screen.match(/FAILED after/g)).toHaveLength(1);
    expect(screen).toMatch(/no further node starts: rollback decided for dea-2 after upgrade failed$/m);
    expect(screen).not.toMatch(/May this node start|StepFailed|\{"nodeId"/);

    const summary = JSON.parse(await readFile(json, 'utf8')) as Parameters<typeof formatSummary>[0] & Summary;
    expect(summary).toMatchObject({
      status: 'ROLLED_BACK',
      cluster: 'cli-terminal',
      targetVersion: '3.1.0',
      order: ['dea-1', 'dea-2', 'core-1'],
      nodes: {
        'dea-1': { from: '3.0.0', to: '3.1.0', status: 'UPGRADED' },
        'dea-2': { from: '3.0.0', to: '3.0.0', status: 'ROLLED_BACK' },
        'core-1': { status: 'NOT_STARTED' },
      },
      failure: { node: 'dea-2', step: 'upgrade' },
      lockReleased: true,
      execution: { events: expect.any(Number), stateTransitions: expect.any(Number) },
    });
    expect(summary.maintenanceMode.disabledAt).not.toBeNull();
    // The same summary as text (what the command prints without --json): step times, the mixed versions and what next.
    const text = formatSummary(summary, { wholeSeconds: 20 });
    expect(text).toMatch(/^Upgrade of cli-terminal to 3\.1\.0: ROLLED_BACK in [\d.]+ s; 20\.0 s with the rehearsal's set-up \(run /m);
    expect(text).toMatch(/^ +NODE +ROLES +FROM +TO +STATUS +IN WINDOW +STEPS \(seconds\)$/m);
    expect(text).toMatch(
      /^ +dea-2 +dea +3\.0\.0 +3\.0\.0 +ROLLED_BACK +[\d.]+ s +self-update [\d.]+, check [\d.]+, pre [\d.]+, .*upgrade [\d.]+ FAILED, rollback [\d.]+$/m,
    );
    expect(text).toContain('The cluster is now on 2 versions: 3.1.0: dea-1; 3.0.0: dea-2, core-1.');
    expect(text).toMatch(/Next: fix what failed, then carry on from where this run stopped: fleet-upgrade start --resume-from cli-terminal-3\.1\.0-/);
  }, 200_000);

  it('Ctrl-C while the run waits for a decision stops it safely: node rolled back, maintenance off, lock released, services stopped', async () => {
    const cluster = join(dir, 'interrupted.json');
    await writeFile(
      cluster,
      JSON.stringify({
        cluster: 'cli-interrupted',
        nodes: [
          { id: 'dea-1', roles: ['dea'], version: '3.0.0' },
          { id: 'core-1', roles: ['primary'], version: '3.0.0' },
        ],
      }),
    );
    const work = join(dir, 'interrupted');
    // Its own process group, signalled as a whole, as a terminal's Ctrl-C signals the foreground group: the
    // helpers it started there (the node agent) get the SIGINT too and must not die of it mid-stop.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bin/fleet-upgrade.ts',
        'rehearse',
        '--cluster',
        cluster,
        '--target-version',
        '3.1.0',
        '--workdir',
        work,
        '--fail',
        'dea-1:post-upgrade-validation',
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // No --decision: the run waits for the operator, who presses Ctrl-C instead.
      if (stderr.includes('Waiting for a decision') && !stderr.includes('SIGINT')) process.kill(-(child.pid as number), 'SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => process.kill(-(child.pid as number), 'SIGKILL'), 150_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(stderr).toContain('SIGINT: stopping the run safely');
    expect(code, stderr).toBe(1);
    const summary = JSON.parse(stdout) as {
      status: string;
      lockReleased: boolean;
      maintenanceMode: { disabledAt: string | null };
      execution: { status: string };
      nodes: Record<string, { status: string }>;
    };
    expect(summary).toMatchObject({
      status: 'FAILED',
      lockReleased: true,
      execution: { status: 'ABORTED' },
      nodes: { 'dea-1': { status: 'FAILED' }, 'core-1': { status: 'NOT_STARTED' } },
    });
    expect(summary.maintenanceMode.disabledAt).not.toBeNull();
    for (const id of ['dea-1', 'core-1']) {
      const root = join(work, 'nodes', id);
      expect(await inspectSandbox(root), id).toMatchObject({ currentLink: 'releases/3.0.0', maintenance: false });
      // The service was stopped on the way out (a zombie awaiting its reaper counts as stopped).
      const pid = Number((await readFile(join(root, 'var/run/app/service.pid'), 'utf8')).trim());
      const state = (() => {
        try {
          return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
        } catch {
          return 'gone';
        }
      })();
      expect(['gone', 'Z', 'X'], `${id} service (pid ${pid})`).toContain(state);
    }
  }, 180_000);

  it.each([
    [['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1;reboot'], 'targetVersion'],
    [['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1.0', '--role-order', 'dea,dea'], 'roleOrder'],
    [['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1.0', '--fail', 'dea-1:explode'], '--fail'],
    [['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1.0', '--fail', 'nobody:download'], '--fail'],
    [['rehearse', '--cluster', 'does-not-exist.json', '--target-version', '3.1.0'], '--cluster'],
    [['rehearse', '--target-version', '3.1.0'], '--cluster'],
    [
      ['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '2.9.0'],
      "targetVersion: 2.9.0 is older than base-1's 3.0.0 and 6 more nodes: that is a downgrade, which needs force",
    ],
    [
      ['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1.0', '--runbook', '../../etc'],
      'runbook: expected one of kato, release-dir',
    ],
    [['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1.0', '--https-proxy', 'http://10.0.0.1:3128'], 'httpsProxy'],
    [
      ['rehearse', '--cluster', 'examples/demo-cluster.json', '--target-version', '3.1.0', '--approval-timeout-minutes', '30000'],
      'approval.timeoutMinutes: expected at most 10080 minutes',
    ],
    [['frobnicate'], 'unknown command'],
  ])('exits 2 on bad input %j, naming %s, touching nothing', async (args, named) => {
    const { code, stdout, stderr } = await cliInProcess(...args, '--workdir', join(dir, 'untouched'));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(named);
    await expect(import('node:fs').then((fs) => fs.existsSync(join(dir, 'untouched')))).resolves.toBe(false);
  });
});

describe('bad input from a real process', () => {
  it('exits 2 with the field named on stderr and nothing on stdout', async () => {
    const { code, stdout, stderr } = await cli(
      'rehearse',
      '--cluster',
      'examples/demo-cluster.json',
      '--target-version',
      '3.1;reboot',
      '--workdir',
      join(dir, 'untouched'),
    );
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toContain('targetVersion');
  });
});

describe('a cluster too large for one run (CLI)', () => {
  // 2,600 ids of 63 characters: within the execution input's 256 KiB, past what one run's state holds.
  const tooLarge = async () => {
    const file = join(dir, 'too-large.json');
    const nodes = Array.from({ length: 2600 }, (_, i) => ({
      id: `node-${String(i).padStart(58, '0')}`,
      roles: [i === 0 ? 'primary' : 'dea'],
      version: '3.0.0',
    }));
    await writeFile(file, JSON.stringify({ cluster: 'too-large', nodes }));
    return file;
  };
  const refusal = new RegExp(
    "^fleet-upgrade: nodes: 2,600 nodes would make the run's state [0-9,]+ bytes in the window .* " +
      'at most 2,[0-9]{3} nodes with ids of 63 characters fit one run\\. Nothing was changed: split the cluster',
  );

  it('plan says so with exit 2', async () => {
    const { code, stdout, stderr } = await cliInProcess('plan', '--cluster', await tooLarge(), '--target-version', '3.2.0');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(refusal);
  });

  it.each([[[]], [['--dry-run']]])('start %j says so with exit 2 before it reaches the state machine', async (more) => {
    // Nothing listens on the endpoint: a start that got as far as StartExecution would fail otherwise.
    const { code, stderr } = await cliInProcess(
      '--endpoint',
      'http://127.0.0.1:1',
      'start',
      '--cluster',
      await tooLarge(),
      '--target-version',
      '3.2.0',
      ...more,
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(refusal);
  });
});
