import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { cliAgainst, operatorEnvironment } from '../support/cli-against.js';
import { FleetStore } from '../../adapters/store.js';
import { inspectSandbox } from '../../local/sandbox.js';
import type { Summary } from '../../core/summary.js';
import { CHANGES_NODE_STEPS, STEP_STATE_NAMES } from '../../core/steps.js';

const exec = promisify(execFile);
const CLUSTER = {
  cluster: 'ops',
  nodes: [
    ...[1, 2, 3, 4, 5, 6].map((i) => ({ id: `dea-${i}`, roles: ['dea'], version: '3.0.0' })),
    { id: 'core-1', roles: ['primary', 'controller'], version: '3.0.0' },
  ],
};

let dir: string;
let clusterFile: string;
let runtime: LocalRuntime;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

const cli = (...args: string[]) => cliAgainst(runtime.endpoint, ...args);

/**
 * The CLI in a process of its own, loaded and waiting: `go()` runs the command at once. A stop must land while
 * the run is under way, and on a loaded machine a fresh process takes longer to load than nodes take to upgrade.
 */
async function warmCli(...args: string[]): Promise<{ go: () => Promise<{ code: number; stdout: string; stderr: string }>; kill: () => void }> {
  const env = operatorEnvironment();
  const argv = JSON.stringify(['--endpoint', runtime.endpoint, ...args]);
  const script = `const { main } = await import('./cli/main.ts'); process.stderr.write('ready\\n');
    process.stdin.once('data', async () => process.exit(await main(${argv})));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A child that died before `go` would make the write fail: the exit code says what happened instead.
  child.stdin.on('error', () => undefined);
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const loaded = Date.now() + 120_000;
  while (!stderr.includes('ready\n')) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > loaded) {
      kill();
      throw new Error(`the CLI did not load: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    kill,
    go: async () => {
      stderr = '';
      child.stdin.write('go\n');
      const timer = setTimeout(kill, 240_000);
      const code = await exited;
      clearTimeout(timer);
      return { code, stdout, stderr };
    },
  };
}

beforeAll(async () => {
  await mkdir('.tmp', { recursive: true });
  dir = await mkdtemp(join('.tmp', 'operator-cli-'));
  clusterFile = join(dir, 'ops.json');
  await writeFile(clusterFile, JSON.stringify(CLUSTER));
  runtime = await LocalRuntime.start({ cluster: CLUSTER, versions: ['3.1.0', '3.2.0'], workdir: join(dir, 'work') });
}, 90_000);

afterAll(async () => {
  await runtime?.close();
}, 60_000);

describe('fleet-upgrade against `local serve` (--endpoint): the code path that talks to AWS', () => {
  it('starts and watches a run to its summary, then lists it and shows the nodes and their history', async () => {
    const run = await cli('start', '--cluster', clusterFile, '--target-version', '3.1.0', '--run-id', 'ops-up-1', '--watch');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Started run ops-up-1: ops → 3.1.0');
    expect(run.stdout).toMatch(/group dea: dea-1, dea-2, dea-3, dea-4, dea-5, dea-6/);
    expect(run.stdout).toMatch(/dea-1 +Download and verify: ok in/);
    expect(run.stdout, run.stdout).toMatch(/core-1 +upgraded 3\.0\.0 → 3\.1\.0/);
    expect(run.stdout).toContain('Upgrade of ops to 3.1.0: SUCCEEDED (run ops-up-1)');
    expect(run.stdout).toContain('Cluster lock: released');

    const status = await cli('status', '--json');
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual([expect.objectContaining({ runId: 'ops-up-1', status: 'SUCCEEDED' })]);

    const nodes = await cli('nodes', '--cluster', 'ops', '--json');
    expect(nodes.code, nodes.stderr).toBe(0);
    const listed = JSON.parse(nodes.stdout) as { mixedVersions: boolean; nodes: { id: string; version: string; previousVersion: string; lastRun: string }[] };
    expect(listed.mixedVersions).toBe(false);
    expect(listed.nodes.map((n) => [n.id, n.version, n.previousVersion, n.lastRun])).toEqual(
      ['core-1', 'dea-1', 'dea-2', 'dea-3', 'dea-4', 'dea-5', 'dea-6'].map((id) => [id, '3.1.0', '3.0.0', 'ops-up-1']),
    );

    const history = await cli('history', '--cluster', 'ops', '--node', 'dea-2', '--json');
    expect(history.code, history.stderr).toBe(0);
    expect(JSON.parse(history.stdout)).toEqual([expect.objectContaining({ node: 'dea-2', from: '3.0.0', to: '3.1.0', status: 'UPGRADED', runId: 'ops-up-1' })]);

    // A finished run's id cannot be reused: exit 2, nothing started.
    const again = await cli('start', '--cluster', clusterFile, '--target-version', '3.1.0', '--run-id', 'ops-up-1');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('run ops-up-1 already exists');
  }, 300_000);

  it('stop ends the run at once; maintenance mode is turned off and the lock released all the same', async () => {
    const stopper = await warmCli('stop', 'ops-up-2', '--reason', 'operator changed their mind', '--json');
    onTestFinished(stopper.kill);
    const first = await cli('start', '--cluster', clusterFile, '--target-version', '3.2.0', '--run-id', 'ops-up-2', '--json');
    expect(first.code, first.stderr).toBe(0);
    // Idempotent per run id: the same start again answers the same running execution.
    const second = await cli('start', '--cluster', clusterFile, '--target-version', '3.2.0', '--run-id', 'ops-up-2', '--json');
    expect(second.code, second.stderr).toBe(0);
    const arn = (JSON.parse(first.stdout) as { executionArn: string }).executionArn;
    expect((JSON.parse(second.stdout) as { executionArn: string }).executionArn).toBe(arn);

    // unlock refuses while the run is running, whatever the lock's expiry: the lock stays with the run.
    const lockDb = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials }));
    const locks = new FleetStore(lockDb, runtime.stack.tableName);
    const locked = Date.now() + 30_000;
    while ((await locks.getLock('ops'))?.runId !== 'ops-up-2') {
      expect(Date.now(), 'the run never took the lock').toBeLessThan(locked);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const refused = await cli('unlock', '--cluster', 'ops', '--run', 'ops-up-2', '--json');
    expect(refused.code, refused.stderr).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ cluster: 'ops', released: false, heldBy: 'ops-up-2', status: 'RUNNING' });
    await expect(locks.getLock('ops')).resolves.toMatchObject({ runId: 'ops-up-2' });
    lockDb.destroy();

    // Stop once maintenance mode is on and the second node's upgrade is under way (past the check of every
    // node before the window): in AWS as here, the nodes run in
    // child executions of the Distributed Map's Map Run, each with its own history.
    const sfn = new SFNClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials });
    const deadline = Date.now() + 30_000;
    // Children of a Map Run may run Map Runs of their own (groups → nodes): search every history.
    const startedIn = async (executionArn: string | undefined): Promise<boolean> => {
      const events = (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
      if (
        events.some(
          (h) =>
            h.type === 'TaskStateEntered' &&
            h.stateEnteredEventDetails?.name === 'Pre-upgrade validation' &&
            h.stateEnteredEventDetails.input?.includes('"dea-2"'),
        )
      )
        return true;
      for (const e of events) {
        const mapRunArn = e.mapRunStartedEventDetails?.mapRunArn;
        if (mapRunArn === undefined) continue;
        for (const child of (await sfn.send(new ListExecutionsCommand({ mapRunArn }))).executions ?? []) {
          if (await startedIn(child.executionArn)) return true;
        }
      }
      return false;
    };
    const secondNodeStarted = () => startedIn(arn);
    while (!(await secondNodeStarted())) {
      expect(Date.now(), 'the second node never started').toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const stop = await stopper.go();
    expect(stop.code, stop.stderr).toBe(0);
    const summary = JSON.parse(stop.stdout) as Summary;
    expect(summary).toMatchObject({ status: 'FAILED', lockReleased: true, failure: { error: 'ExecutionAborted' } });
    expect(summary.failure?.message).toContain('operator changed their mind');
    expect(summary.maintenanceMode.enabledAt).not.toBeNull();
    expect(summary.maintenanceMode.disabledAt).not.toBeNull();
    expect(summary.nodes['dea-1']?.status).toBe('UPGRADED');
    // Nodes go one at a time: those before the stop upgraded, the one it caught after its retire was rolled back
    // (a retired DEA is back in service), and none after it started. The stop lands as dea-2 starts; if dea-2 was
    // still validating, the cleanup lets that finish and dea-2 is NOT_STARTED, having run no step that changes it.
    const statuses = summary.order.map((id) => summary.nodes[id]?.status);
    const firstUnstarted = statuses.indexOf('NOT_STARTED');
    expect(firstUnstarted, JSON.stringify(statuses)).toBeGreaterThanOrEqual(1);
    expect(
      statuses.slice(firstUnstarted).every((s) => s === 'NOT_STARTED'),
      JSON.stringify(statuses),
    ).toBe(true);
    for (const id of summary.order.slice(firstUnstarted)) {
      const ran = summary.nodes[id]?.steps.map((s) => s.step) ?? [];
      expect(
        ran.filter((step) => CHANGES_NODE_STEPS.includes(step) || step === 'rollback'),
        id,
      ).toEqual([]);
    }
    for (const id of summary.order.slice(0, firstUnstarted)) {
      const node = summary.nodes[id];
      if (node?.status !== 'UPGRADED') {
        expect(node?.status, id).toBe('FAILED');
        expect(
          node?.steps.map((s) => s.step),
          id,
        ).toContain('rollback');
      }
    }

    await runtime.idle();
    const stoppedAt = (await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).stopDate?.toISOString() ?? '';
    sfn.destroy();
    expect(stoppedAt).not.toBe('');
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials }));
    const store = new FleetStore(db, runtime.stack.tableName);
    expect(await store.getLock('ops')).toBeNull();
    // Nothing started on a node after the stop but the clean-up: rollback of the node it caught, maintenance-off.
    // A step's checkpoint is written by its Lambda, which may run a moment after its task started (as in AWS, a
    // function invoked just before the stop runs to its end): a late checkpoint needs its task started in time.
    const tasks = runtime.startedTasks(arn);
    expect(tasks.filter((t) => t.at > Date.parse(stoppedAt)).map((t) => t.stateName)).toEqual([]);
    const { checkpoints } = await store.runRecords('ops-up-2');
    const late = checkpoints
      .filter((c) => c.startedAt > stoppedAt && c.step !== 'maintenance-off' && c.step !== 'rollback')
      .filter((c) => !tasks.some((t) => t.stateName === STEP_STATE_NAMES[c.step] && t.nodeId === c.nodeId && t.at <= Date.parse(stoppedAt)));
    expect(late.map((c) => `${c.nodeId}:${c.step}`)).toEqual([]);
    db.destroy();
    // On the machines: maintenance mode off, every node at its old or its new version, service healthy.
    const core = await inspectSandbox(runtime.stack.nodeRoots.get('core-1') as string);
    expect(core.maintenance).toBe(false);
    for (const [id, root] of runtime.stack.nodeRoots) {
      const node = await inspectSandbox(root);
      expect([summary.nodes[id]?.from ?? '3.0.0', '3.2.0'], id).toContain(node.currentVersion);
      expect(node.serviceHealthy, `${id} service healthy`).toBe(true);
    }

    const status = await cli('status', 'ops-up-2');
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('run ABORTED — StoppedByOperator');
  }, 300_000);

  it('watch redraws its picture in place in a real terminal (tmux) and ends with the summary', async () => {
    const socket = `fleet-upgrade-test-${process.pid}`;
    const tmux = (...args: string[]) => exec('tmux', ['-L', socket, ...args], { timeout: 10_000 });
    const command = [
      process.execPath,
      '--import',
      'tsx',
      'bin/fleet-upgrade.ts',
      '--endpoint',
      runtime.endpoint,
      'start',
      '--cluster',
      clusterFile,
      '--target-version',
      '3.2.0',
      '--force',
      '--run-id',
      'ops-up-3',
      '--watch',
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    await tmux('new-session', '-d', '-x', '110', '-y', '45', '-c', process.cwd(), `${command}; echo "EXIT=$?"; sleep 60`);
    try {
      // Poll the screen until the command has ended (no fixed sleeps).
      let screen = '';
      const deadline = Date.now() + 240_000;
      while (!/EXIT=\d+/.test(screen)) {
        expect(Date.now(), `watch did not finish; screen:\n${screen}`).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 250));
        screen = (await tmux('capture-pane', '-p', '-J', '-S', '-200')).stdout;
      }
      expect(screen, screen).toContain('EXIT=0');
      // The frame was redrawn in place: each group line appears once, with every node done.
      expect(screen.match(/^ {2}group dea \(6\/6\)$/gm)).toHaveLength(1);
      expect(screen).toMatch(/^ {4}✔ dea-1 +upgraded 3\.\d\.0 → 3\.2\.0$/m);
      expect(screen).toMatch(/^ {2}group primary \(1\/1\)$/m);
      expect(screen).toContain('Upgrade of ops to 3.2.0: SUCCEEDED (run ops-up-3)');
      expect(screen).not.toMatch(/\[ +\d+\.\ds\] dea-1/); // no plain progress lines on a terminal
    } finally {
      await tmux('kill-server').catch(() => undefined);
    }
  }, 300_000);

  it('refuses bad input with exit 2 naming the field, before anything starts', async () => {
    const bad = await cli('start', '--cluster', clusterFile, '--target-version', '3.2;reboot');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/targetVersion: expected a version/);
    const noRun = await cli('watch', 'no such run');
    expect(noRun.code).toBe(2);
    expect(noRun.stderr).toContain('<run>: expected a run id');
  }, 60_000);

  it("unlock breaks a crashed run's lock only when named, and only once the run is not running", async () => {
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials }));
    const store = new FleetStore(db, runtime.stack.tableName);
    try {
      // A run that crashed without releasing its lock (no execution of that name exists).
      await store.acquireLock('crashed', 'crashed-run-1', new Date(), 3600);
      const wrong = await cli('unlock', '--cluster', 'crashed', '--run', 'another-run');
      expect(wrong.code).toBe(1);
      expect(wrong.stdout).toContain('locked by run crashed-run-1, not another-run');
      await expect(store.getLock('crashed')).resolves.toMatchObject({ runId: 'crashed-run-1' });
      const right = await cli('unlock', '--cluster', 'crashed', '--run', 'crashed-run-1', '--json');
      expect(right.code, right.stderr).toBe(0);
      expect(JSON.parse(right.stdout)).toMatchObject({ cluster: 'crashed', released: true, status: 'DOES_NOT_EXIST' });
      await expect(store.getLock('crashed')).resolves.toBeNull();
      expect((await cli('unlock', '--cluster', 'crashed', '--run', 'crashed-run-1')).stdout).toContain('is not locked');
      expect((await cli('unlock', '--cluster', 'crashed', '--run', '$(id)')).code).toBe(2);
    } finally {
      db.destroy();
    }
  }, 60_000);
});
