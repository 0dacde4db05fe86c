import { execFile } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DescribeMapRunCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';

/**
 * Debian's AWS CLI v2 (`apt-get install awscli`, aws-cli 2.9.19) reads `local serve` as it reads Step Functions: the
 * same commands a script or an operator types, answered in the shapes of the Step Functions API Reference
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/). The CLI parses each answer with its own service
 * model, so a field it does not know is dropped and a missing required one shows. The absolute path matters: another
 * `aws` may come first on PATH.
 */
const AWS_CLI = '/usr/bin/aws';
const exec = promisify(execFile);

const CLUSTER = {
  cluster: 'cli',
  nodes: [
    { id: 'dea-1', roles: ['dea'], version: '3.0.0' },
    { id: 'core-1', roles: ['primary'], version: '3.0.0' },
  ],
};

let runtime: LocalRuntime;
let home: string;
let executionArn: string;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `aws stepfunctions …` against the runtime: dummy credentials, no config or credentials file, no instance
 * metadata, HOME in a temporary directory, and --debug so that every connection the CLI opens is logged and checked.
 */
async function aws(...args: string[]): Promise<CliResult> {
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_PAGER: '',
  };
  const argv = ['--endpoint-url', runtime.endpoint, '--output', 'json', '--debug', 'stepfunctions', ...args];
  const result = await exec(AWS_CLI, argv, { env, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, stdout: error.stdout ?? '', stderr: error.stderr ?? '' }),
  );
  const hosts = [...result.stderr.matchAll(/Starting new HTTPS? connection \(\d+\): ([^\s:]+)/g)].map((m) => m[1]);
  expect(hosts.length, `aws ${args.join(' ')} opened no connection:\n${result.stderr.slice(-2000)}`).toBeGreaterThan(0);
  expect(new Set(hosts), `aws ${args.join(' ')} left loopback`).toEqual(new Set(['127.0.0.1']));
  return result;
}

/** The JSON an `aws` command printed; it must have succeeded. */
async function awsJson<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const result = await aws(...args);
  expect(result.code, `aws ${args.join(' ')}: ${result.stderr.split('\n').slice(-5).join('\n')}`).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** The error code an `aws` command failed with, as the CLI prints it: `An error occurred (Code) when calling …`. */
async function awsError(...args: string[]): Promise<string | undefined> {
  const result = await aws(...args);
  expect(result.code, result.stdout).not.toBe(0);
  return /An error occurred \((\w+)\) when calling the \w+ operation/.exec(result.stderr)?.[1];
}

const isTimestamp = (value: unknown) => typeof value === 'string' && !Number.isNaN(Date.parse(value));
const keys = (value: object) => Object.keys(value).sort();

interface MapRunItem {
  executionArn: string;
  mapRunArn: string;
  stateMachineArn: string;
  startDate: string;
  stopDate?: string;
}

beforeAll(async () => {
  await mkdir('.tmp', { recursive: true });
  const dir = resolve(await mkdtemp(join('.tmp', 'aws-cli-')));
  home = join(dir, 'home');
  await mkdir(home);
  runtime = await LocalRuntime.start({ cluster: CLUSTER, versions: ['3.1.0'], workdir: join(dir, 'work') });
}, 90_000);

afterAll(async () => {
  await runtime?.close();
}, 60_000);

describe('the AWS CLI against local serve', () => {
  it('start-execution and describe-execution answer as the API Reference documents them', async () => {
    const input = JSON.stringify({ cluster: 'cli', targetVersion: '3.1.0', nodes: CLUSTER.nodes.map(({ id, roles }) => ({ id, roles })) });
    const started = await awsJson('start-execution', '--state-machine-arn', runtime.stateMachineArn, '--name', 'cli-run', '--input', input);
    expect(keys(started)).toEqual(['executionArn', 'startDate']);
    expect(started.executionArn).toBe('arn:aws:states:us-east-1:123456789012:execution:FleetUpgrade:cli-run');
    expect(isTimestamp(started.startDate)).toBe(true);
    executionArn = String(started.executionArn);

    await runtime.idle();
    const described = await awsJson('describe-execution', '--execution-arn', executionArn);
    expect(keys(described)).toEqual([
      'executionArn',
      'input',
      'inputDetails',
      'name',
      'output',
      'outputDetails',
      'startDate',
      'stateMachineArn',
      'status',
      'stopDate',
    ]);
    expect(described).toMatchObject({
      executionArn,
      stateMachineArn: runtime.stateMachineArn,
      name: 'cli-run',
      status: 'SUCCEEDED',
      input,
      inputDetails: { included: true },
      outputDetails: { included: true },
    });
    expect(JSON.parse(String(described.output))).toMatchObject({ cluster: 'cli', status: 'SUCCEEDED', counts: { upgraded: 2 } });
    expect(isTimestamp(described.stopDate)).toBe(true);
    expect(await awsError('describe-execution', '--execution-arn', `${executionArn}-unknown`)).toBe('ExecutionDoesNotExist');
  }, 180_000);

  it('describe-state-machine answers the synthesized definition, role, logging and tracing; unknown ARNs get the documented errors', async () => {
    const machine = await awsJson('describe-state-machine', '--state-machine-arn', runtime.stateMachineArn);
    expect(keys(machine)).toEqual([
      'creationDate',
      'definition',
      'loggingConfiguration',
      'name',
      'roleArn',
      'stateMachineArn',
      'status',
      'tracingConfiguration',
      'type',
    ]);
    expect(machine).toMatchObject({
      stateMachineArn: runtime.stateMachineArn,
      name: 'FleetUpgrade',
      status: 'ACTIVE',
      type: 'STANDARD',
      // The stack logs every transition without execution data, and traces with X-Ray.
      loggingConfiguration: {
        level: 'ALL',
        includeExecutionData: false,
        destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/FleetUpgradeStack:*' } }],
      },
      tracingConfiguration: { enabled: true },
    });
    expect(machine.roleArn).toMatch(/^arn:aws:iam::123456789012:role\/\S+$/);
    expect(isTimestamp(machine.creationDate)).toBe(true);
    expect(JSON.parse(String(machine.definition))).toMatchObject({ StartAt: expect.any(String), States: expect.any(Object) });
    // The execution's history names the role the state machine runs as, as in AWS.
    const history = await awsJson<{ events: { executionStartedEventDetails?: { roleArn?: string } }[] }>(
      'get-execution-history',
      '--execution-arn',
      executionArn,
      '--max-items',
      '1',
    );
    expect(history.events[0]?.executionStartedEventDetails?.roleArn).toBe(machine.roleArn);

    const cleanup = await awsJson('describe-state-machine', '--state-machine-arn', runtime.stack.cleanup.arn);
    expect(cleanup).toMatchObject({ name: 'FleetUpgradeCleanup', status: 'ACTIVE', type: 'STANDARD', tracingConfiguration: { enabled: true } });
    expect(cleanup.roleArn).not.toBe(machine.roleArn);

    expect(await awsError('describe-state-machine', '--state-machine-arn', `${runtime.stateMachineArn}Unknown`)).toBe('StateMachineDoesNotExist');
    expect(await awsError('describe-state-machine', '--state-machine-arn', executionArn)).toBe('InvalidArn');
    // "If you provide a qualified state machine ARN that refers to a Distributed Map state, the request fails with
    // ValidationException." https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachine.html
    expect(await awsError('describe-state-machine', '--state-machine-arn', `${runtime.stateMachineArn}/CheckNodes`)).toBe('ValidationException');
  }, 120_000);

  it('list-state-machines lists the upgrade and the cleanup state machine', async () => {
    const listed = await awsJson<{ stateMachines: Record<string, unknown>[] }>('list-state-machines');
    expect(keys(listed)).toEqual(['stateMachines']);
    expect(listed.stateMachines.map((m) => keys(m))).toEqual([
      ['creationDate', 'name', 'stateMachineArn', 'type'],
      ['creationDate', 'name', 'stateMachineArn', 'type'],
    ]);
    expect(listed.stateMachines).toMatchObject([
      { stateMachineArn: runtime.stateMachineArn, name: 'FleetUpgrade', type: 'STANDARD' },
      { stateMachineArn: runtime.stack.cleanup.arn, name: 'FleetUpgradeCleanup', type: 'STANDARD' },
    ]);
    expect(listed.stateMachines.every((m) => isTimestamp(m.creationDate))).toBe(true);
  }, 120_000);

  it('list-map-runs and describe-map-run report the Map Runs each execution started', async () => {
    // A Map Run exists only for a Map in Distributed mode: "When you run a Map state in Distributed mode, Step
    // Functions creates a Map Run resource." https://docs.aws.amazon.com/step-functions/latest/dg/concepts-examine-map-run.html
    // An Inline Map's iterations run inside its execution and start no Map Run (an execution with only Inline Maps lists
    // none). Every Map of this state machine is Distributed, so its executions have Map Runs to list.
    const definition = JSON.parse(String((await awsJson('describe-state-machine', '--state-machine-arn', runtime.stateMachineArn)).definition)) as {
      States: Record<string, unknown>;
    };
    const modes: string[] = [];
    const walk = (states: Record<string, { Type?: string; ItemProcessor?: { States: Record<string, never>; ProcessorConfig?: { Mode?: string } } }>) => {
      for (const state of Object.values(states)) {
        if (state.Type === 'Map') modes.push(state.ItemProcessor?.ProcessorConfig?.Mode ?? 'INLINE');
        if (state.ItemProcessor) walk(state.ItemProcessor.States);
      }
    };
    walk(definition.States as never);
    expect(modes).toEqual(['DISTRIBUTED', 'DISTRIBUTED', 'DISTRIBUTED']);

    // The parent started two: checking the nodes, and the groups in role order.
    const parent = await awsJson<{ mapRuns: MapRunItem[] }>('list-map-runs', '--execution-arn', executionArn);
    expect(keys(parent)).toEqual(['mapRuns']);
    expect(parent.mapRuns.map((r) => keys(r))).toEqual([
      ['executionArn', 'mapRunArn', 'startDate', 'stateMachineArn', 'stopDate'],
      ['executionArn', 'mapRunArn', 'startDate', 'stateMachineArn', 'stopDate'],
    ]);
    expect(parent.mapRuns.map((r) => r.mapRunArn.split(':')[6]?.split('/')[1])).toEqual(['CheckNodes', 'UpgradeGroups']);
    for (const run of parent.mapRuns) {
      expect(run).toMatchObject({ executionArn, stateMachineArn: runtime.stateMachineArn });
      expect(run.mapRunArn).toMatch(/^arn:aws:states:us-east-1:123456789012:mapRun:FleetUpgrade\/\w+:[0-9a-f-]{36}$/);
      expect(isTimestamp(run.startDate) && isTimestamp(run.stopDate)).toBe(true);
    }

    const [checkNodes, upgradeGroups] = parent.mapRuns as [MapRunItem, MapRunItem];
    const checked = await awsJson('describe-map-run', '--map-run-arn', checkNodes.mapRunArn);
    expect(checked).toMatchObject({
      mapRunArn: checkNodes.mapRunArn,
      executionArn,
      status: 'SUCCEEDED',
      maxConcurrency: 10,
      toleratedFailurePercentage: 0,
      toleratedFailureCount: 0,
      itemCounts: { pending: 0, running: 0, succeeded: 2, failed: 0, timedOut: 0, aborted: 0, total: 2, resultsWritten: 0 },
      executionCounts: { pending: 0, running: 0, succeeded: 2, failed: 0, timedOut: 0, aborted: 0, total: 2, resultsWritten: 0 },
    });
    expect(isTimestamp(checked.startDate) && isTimestamp(checked.stopDate)).toBe(true);
    // What the CLI's 2023 model does not know yet (redrives), the current SDK reads.
    const sfn = new SFNClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const current = await sfn.send(new DescribeMapRunCommand({ mapRunArn: checkNodes.mapRunArn }));
    sfn.destroy();
    expect(current).toMatchObject({ redriveCount: 0, itemCounts: { failuresNotRedrivable: 0, pendingRedrive: 0 }, executionCounts: { pendingRedrive: 0 } });
    expect(current.stopDate).toBeInstanceOf(Date);
    const groups = await awsJson('describe-map-run', '--map-run-arn', upgradeGroups.mapRunArn);
    expect(groups).toMatchObject({ status: 'SUCCEEDED', maxConcurrency: 1, itemCounts: { succeeded: 2, total: 2 } });

    // Each group's child execution runs the nodes' Distributed Map: its Map Run is the child's, not the parent's.
    const children = await awsJson<{ executions: { executionArn: string }[] }>('list-executions', '--map-run-arn', upgradeGroups.mapRunArn);
    expect(children.executions).toHaveLength(2);
    const nodeRuns: string[] = [];
    for (const child of children.executions) {
      const nested = await awsJson<{ mapRuns: MapRunItem[] }>('list-map-runs', '--execution-arn', child.executionArn);
      expect(nested.mapRuns).toHaveLength(1);
      expect(nested.mapRuns[0]).toMatchObject({
        executionArn: child.executionArn,
        stateMachineArn: `${runtime.stateMachineArn}/UpgradeGroups`,
        mapRunArn: expect.stringMatching(/:mapRun:FleetUpgrade\/UpgradeNodes:/),
      });
      nodeRuns.push(nested.mapRuns[0]?.mapRunArn ?? '');
      const nodes = await awsJson('describe-map-run', '--map-run-arn', nodeRuns.at(-1) as string);
      expect(nodes).toMatchObject({ executionArn: child.executionArn, status: 'SUCCEEDED', itemCounts: { succeeded: 1, total: 1 } });
    }
    // A node's child execution runs no Map: it started no Map Run, and its list is empty.
    const node =
      (await awsJson<{ executions: { executionArn: string }[] }>('list-executions', '--map-run-arn', nodeRuns[0] ?? '')).executions[0]?.executionArn ?? '';
    expect(await awsJson('list-map-runs', '--execution-arn', node)).toEqual({ mapRuns: [] });

    // The errors the API Reference documents: ExecutionDoesNotExist and InvalidArn for ListMapRuns, ResourceNotFound
    // and InvalidArn for DescribeMapRun.
    expect(await awsError('list-map-runs', '--execution-arn', `${executionArn}-unknown`)).toBe('ExecutionDoesNotExist');
    expect(await awsError('list-map-runs', '--execution-arn', checkNodes.mapRunArn)).toBe('InvalidArn');
    expect(await awsError('describe-map-run', '--map-run-arn', `${checkNodes.mapRunArn.slice(0, -36)}00000000-0000-0000-0000-000000000000`)).toBe(
      'ResourceNotFound',
    );
    expect(await awsError('describe-map-run', '--map-run-arn', executionArn)).toBe('InvalidArn');
  }, 180_000);
});
