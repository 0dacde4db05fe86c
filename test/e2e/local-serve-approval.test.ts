import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { cliAgainst } from '../support/cli-against.js';
import { inspectSandbox } from '../../local/sandbox.js';

const CLUSTER = {
  cluster: 'serve-ask',
  nodes: [
    { id: 'dea-1', roles: ['dea'], version: '3.0.0' },
    { id: 'dea-2', roles: ['dea'], version: '3.0.0' },
    { id: 'core-1', roles: ['primary'], version: '3.0.0' },
  ],
};

let dir: string;
let clusterFile: string;
let runtime: LocalRuntime;

const cli = (...args: string[]) => cliAgainst(runtime.endpoint, ...args);

/** Asks until `check` returns a value (the run is asynchronous; no fixed sleeps). */
async function until<T>(what: string, check: () => Promise<T | undefined>, seconds = 120): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

beforeAll(async () => {
  await mkdir('.tmp', { recursive: true });
  dir = await mkdtemp(join('.tmp', 'serve-ask-'));
  clusterFile = join(dir, 'cluster.json');
  await writeFile(clusterFile, JSON.stringify(CLUSTER));
  runtime = await LocalRuntime.start({
    cluster: CLUSTER,
    versions: ['3.1.0'],
    workdir: join(dir, 'work'),
    failures: [{ nodeId: 'dea-2', step: 'upgrade', times: Number.POSITIVE_INFINITY }],
  });
}, 90_000);

afterAll(async () => {
  await runtime?.close();
}, 60_000);

describe('`local serve --fail NODE:upgrade`: the operator decides from the CLI', () => {
  it('start, then approvals lists the waiting decision, and decide rollback ends the run ROLLED_BACK with the node at its old version', async () => {
    const started = await cli('start', '--cluster', clusterFile, '--target-version', '3.1.0', '--run-id', 'serve-ask-1');
    expect(started.code, started.stderr).toBe(0);

    const approval = await until('the approval', async () => {
      const listed = await cli('approvals', '--json');
      expect(listed.code, listed.stderr).toBe(0);
      return (JSON.parse(listed.stdout) as { approvalId: string; nodeId: string; failedStep: string; runId: string }[])[0];
    });
    expect(approval).toMatchObject({ nodeId: 'dea-2', failedStep: 'upgrade', runId: 'serve-ask-1' });

    const decided = await cli('decide', approval.approvalId, 'rollback');
    expect(decided.code, decided.stderr).toBe(0);

    const ended = await until('the run to end', async () => {
      const status = await cli('status', '--json');
      expect(status.code, status.stderr).toBe(0);
      const run = (JSON.parse(status.stdout) as { runId: string; status: string }[]).find((r) => r.runId === 'serve-ask-1');
      return run !== undefined && run.status !== 'RUNNING' ? run : undefined;
    });
    expect(ended.status).toBe('FAILED'); // the execution fails with the step's error; the run's outcome is in its summary
    const summary = await cli('status', 'serve-ask-1', '--json');
    expect(JSON.parse(summary.stdout)).toMatchObject({ status: 'ROLLED_BACK', nodes: { 'dea-2': { status: 'ROLLED_BACK', to: '3.0.0' } }, lockReleased: true });
    expect(await inspectSandbox(join(dir, 'work', 'nodes', 'dea-2'))).toMatchObject({
      currentLink: 'releases/3.0.0',
      serviceHealthy: true,
      maintenance: false,
    });
    expect(await inspectSandbox(join(dir, 'work', 'nodes', 'dea-1'))).toMatchObject({ currentLink: 'releases/3.1.0' });
  }, 240_000);
});
