import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { inspectSandbox } from '../../local/sandbox.js';

/** Two operators start an upgrade of the same cluster at the same moment, through the Step Functions API. */
const CLUSTER = {
  cluster: 'race',
  nodes: [
    { id: 'dea-1', roles: ['dea'], version: '3.0.0' },
    { id: 'core-1', roles: ['primary'], version: '3.0.0' },
  ],
};

let runtime: LocalRuntime;
let sfn: SFNClient;

beforeAll(async () => {
  await mkdir('.tmp', { recursive: true });
  const dir = await mkdtemp(join('.tmp', 'concurrent-starts-'));
  runtime = await LocalRuntime.start({ cluster: CLUSTER, versions: ['3.1.0'], workdir: join(dir, 'work') });
  sfn = new SFNClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}, 90_000);

afterAll(async () => {
  sfn?.destroy();
  await runtime?.close();
}, 60_000);

describe('one run per cluster', () => {
  it('of two concurrent starts, one upgrades and the other is refused at the lock, naming the running run', async () => {
    const input = JSON.stringify({ cluster: 'race', targetVersion: '3.1.0', nodes: CLUSTER.nodes.map(({ id, roles }) => ({ id, roles })) });
    const started = await Promise.all(
      ['race-a', 'race-b'].map((name) => sfn.send(new StartExecutionCommand({ stateMachineArn: runtime.stateMachineArn, name, input }))),
    );
    await runtime.idle();
    const ended = await Promise.all(started.map((s) => sfn.send(new DescribeExecutionCommand({ executionArn: s.executionArn }))));
    const winner = ended.find((e) => e.status === 'SUCCEEDED');
    const loser = ended.find((e) => e.status === 'FAILED');
    expect(winner, JSON.stringify(ended.map((e) => [e.name, e.status, e.error, e.cause]))).toBeDefined();
    expect(loser?.error).toBe('ClusterLockedError');
    expect(loser?.cause).toContain(`cluster race is locked by run ${String(winner?.name)}`);
    // The refused run touched nothing: every node upgraded once, by the winner, and the lock is free again.
    for (const root of runtime.stack.nodeRoots.values()) expect((await inspectSandbox(root)).currentVersion).toBe('3.1.0');
    const third = await sfn.send(new StartExecutionCommand({ stateMachineArn: runtime.stateMachineArn, name: 'race-c', input }));
    await runtime.idle();
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: third.executionArn }))).resolves.toMatchObject({ status: 'SUCCEEDED' });
  });
});
