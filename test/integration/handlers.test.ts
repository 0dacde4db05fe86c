import { mkdtempSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDbLocal } from '../../local/dynamodb-local.js';
import { startLocalSsm, type LocalSsm, type CommandStatusChange } from '../../local/ssm-endpoint.js';
import { LocalTaskTokens } from '../../local/task-tokens.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, resetClients } from '../../adapters/aws-clients.js';
import { parseInput } from '../../core/input-schema.js';
import { runContext } from '../../core/run-context.js';
import { handler as validateInput } from '../../lambdas/validate-input/index.js';
import { handler as lock } from '../../lambdas/lock/index.js';
import { handler as plan } from '../../lambdas/plan/index.js';
import { handler as runStep } from '../../lambdas/run-step/index.js';
import { handler as commandFinished } from '../../lambdas/command-finished/index.js';
import { handler as recordNode } from '../../lambdas/record-node/index.js';
import { handler as summarize } from '../../lambdas/summarize/index.js';
import { localTable } from '../support/dynamodb.js';

let dynamodb: DynamoDbLocal;
let ssm: LocalSsm;
const tokens = new LocalTaskTokens();
const events: CommandStatusChange[] = [];
const store = () => new FleetStore(documentClient(), 'fleet-upgrade-test');

const nodes = [
  { id: 'core-1', roles: ['primary'] },
  { id: 'dea-1', roles: ['dea'] },
];
const input = parseInput({ cluster: 'handlers', targetVersion: '3.1.0', nodes });
const run = runContext(input, 'handlers-run-1', '2026-11-24T10:00:00.000Z');

/** A tiny document with the stack's parameter shape: the "step" prints a version and exits as asked by the step name. */
const document = {
  parameters: {
    step: { type: 'String', allowedPattern: '^[a-z-]+$' },
    targetVersion: { type: 'String', allowedPattern: '^[0-9.]+$' },
    artifactBaseUrl: { type: 'String', allowedPattern: '^http://[a-z0-9.:/]+$' },
    httpsProxy: { type: 'String', default: '', allowedPattern: '^$' },
    runId: { type: 'String', allowedPattern: '^[A-Za-z0-9.-]+$' },
    executionTimeout: { type: 'String', default: '60', allowedPattern: '^[0-9]+$' },
  },
  mainSteps: [
    {
      action: 'aws:runShellScript',
      inputs: {
        timeoutSeconds: '{{ executionTimeout }}',
        runCommand: [
          "step='{{ step }}'",
          'case "$step" in',
          '  version-check) echo "checking"; echo \'{"version":"3.0.0"}\' ;;',
          '  download) echo "curl: (22) 404 Not Found" >&2; exit 4 ;;',
          '  *) echo \'{"ok":true}\' ;;',
          'esac',
        ],
      },
    },
  ],
};

beforeAll(async () => {
  dynamodb = await localTable();
  mkdirSync('.tmp', { recursive: true });
  const workdir = mkdtempSync(join('.tmp', 'handlers-'));
  mkdirSync(join(workdir, 'core-1'));
  mkdirSync(join(workdir, 'dea-1'));
  ssm = await startLocalSsm({
    documentName: 'test-doc',
    document,
    nodeRoots: new Map([['core-1', join(workdir, 'core-1')], ['dea-1', join(workdir, 'dea-1')]]),
    workdir,
    onStatusChange: async (event) => {
      events.push(event);
      await commandFinished(event);
    },
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SSM: ssm.endpoint,
    AWS_ENDPOINT_URL_SFN: await tokens.start(),
    DOCUMENT_NAME: 'test-doc',
    ARTIFACT_BASE_URL: 'http://127.0.0.1:1/artifacts',
  });
  resetClients();
});

afterAll(async () => {
  await ssm?.close();
  await tokens.close();
  await dynamodb?.stop();
});

/** Runs a step the way the state machine does: mint a token, invoke run-step, wait for command-finished's answer. */
async function step(stepId: 'version-check' | 'download' | 'self-update', nodeId: string): Promise<unknown> {
  const token = tokens.mint();
  await runStep({ taskToken: token, step: stepId, node: { id: nodeId }, run });
  return tokens.wait(token);
}

describe('handlers against DynamoDB Local', () => {
  it('validate-input returns the normalized input and run context, or names the bad field', async () => {
    const out = await validateInput({ input: { cluster: 'handlers', targetVersion: '3.1.0', nodes }, runId: 'r-1', startedAt: 'now' });
    expect(out.run).toMatchObject({ runId: 'r-1', cluster: 'handlers', force: false, httpsProxy: '' });
    await expect(validateInput({ input: { cluster: 'handlers', targetVersion: 'latest' }, runId: 'r-1', startedAt: 'now' })).rejects.toMatchObject({
      name: 'InputValidationError',
      field: 'targetVersion',
    });
  });

  it('lets one run hold a cluster lock; a second run is refused with a message naming the holder', async () => {
    await expect(lock({ action: 'acquire', cluster: 'locked', runId: 'first' })).resolves.toMatchObject({ acquired: true });
    await expect(lock({ action: 'acquire', cluster: 'locked', runId: 'first' })).resolves.toMatchObject({ acquired: true });
    await expect(lock({ action: 'acquire', cluster: 'locked', runId: 'second' })).rejects.toMatchObject({
      name: 'ClusterLockedError',
      message: expect.stringContaining('locked by run first'),
    });
    await expect(lock({ action: 'release', cluster: 'locked', runId: 'second' })).resolves.toEqual({ released: false });
    await expect(lock({ action: 'release', cluster: 'locked', runId: 'first' })).resolves.toEqual({ released: true });
    await expect(store().getLock('locked')).resolves.toBeNull();
    await expect(lock({ action: 'acquire', cluster: 'locked', runId: 'second' })).resolves.toMatchObject({ acquired: true });
  });

  it('plan reads the node list from the execution input, records the run and returns the ids to check', async () => {
    // validate-input keeps the node list out of the state data; the plan reads it from the execution input.
    const { nodes, ...slim } = input;
    const out = await plan({ input: slim, executionInput: { cluster: input.cluster, targetVersion: input.targetVersion, nodes }, run });
    expect(out.order).toEqual(['dea-1', 'core-1']);
    expect(out.coreNode).toBe('core-1');
    expect(out.groups).toEqual([]);
    await expect(store().getRun('handlers', run.runId)).resolves.toMatchObject({
      status: 'RUNNING', coreNode: 'core-1', order: ['dea-1', 'core-1'], roles: { 'dea-1': ['dea'], 'core-1': ['primary'] },
    });
  });

  it('records the plan of a 6,000-node run within DynamoDB item limits and reads it back in order', async () => {
    const ids = Array.from({ length: 6000 }, (_, i) => `i-${(0x0abc0000000000 + i).toString(16).padStart(17, '0')}`);
    await store().putRun({
      runId: 'big-run', cluster: 'big', targetVersion: '3.2.0', coreNode: ids[0] ?? '', order: ids,
      roles: Object.fromEntries(ids.map((id, i) => [id, i === 0 ? ['primary', 'controller'] : ['dea']])),
      plannedFrom: Object.fromEntries(ids.map((id) => [id, '3.1.0'])), startedAt: 'now',
    });
    const back = await store().getRun('big', 'big-run');
    expect(back?.order).toEqual(ids);
    expect(back?.roles[ids[0] ?? '']).toEqual(['primary', 'controller']);
    expect(back?.plannedFrom[ids[5999] ?? '']).toBe('3.1.0');
    await expect(store().plannedRoles('big-run', ids[42] ?? '')).resolves.toEqual(['dea']);
  });

  it('a dry run returns the full plan and records nothing', async () => {
    const dry = runContext(input, 'handlers-dry', 'now');
    const out = await plan({ input, run: dry, dryRun: true });
    expect(out.plan?.groups[0]?.nodes[0]).toMatchObject({ id: 'dea-1', action: 'upgrade' });
    await expect(store().getRun('handlers', 'handlers-dry')).resolves.toBeNull();
  });

  it('run-step + command-finished answer the task token with the interpreted result and checkpoint it', async () => {
    const result = await step('version-check', 'dea-1');
    expect(result).toMatchObject({ step: 'version-check', nodeId: 'dea-1', outcome: 'SUCCEEDED', exitCode: 0, details: { version: '3.0.0' }, atTarget: false });
    await expect(store().getCheckpoint(run.runId, 'dea-1', 'version-check')).resolves.toMatchObject({ status: 'SUCCEEDED', details: { version: '3.0.0' } });
  });

  it('a failing step fails the task with StepFailed, its exit code and output tail', async () => {
    const failure = step('download', 'dea-1');
    await expect(failure).rejects.toMatchObject({ name: 'StepFailed' });
    const cause = JSON.parse(((await failure.catch((e: Error) => e)) as Error).message) as Record<string, unknown>;
    expect(cause).toMatchObject({ nodeId: 'dea-1', step: 'download', exitCode: 4, outputTail: expect.stringContaining('404 Not Found') });
    await expect(store().getCheckpoint(run.runId, 'dea-1', 'download')).resolves.toMatchObject({ status: 'FAILED', exitCode: 4 });
  });

  it('a duplicate status event answers nothing twice', async () => {
    const last = events.at(-1) as CommandStatusChange;
    await expect(commandFinished(last)).resolves.toEqual({ answered: false });
  });

  it('an event for a command this stack did not start is ignored', async () => {
    const last = events.at(-1) as CommandStatusChange;
    const unknown = { ...last, detail: { ...last.detail, 'command-id': '00000000-0000-0000-0000-000000000000' } };
    await expect(commandFinished(unknown)).resolves.toEqual({ answered: false });
  });

  it('record-node and summarize tell the same story as the table', async () => {
    await recordNode({ action: 'failed', node: nodes[1] as { id: string; roles: string[] }, run, error: { Error: 'StepFailed', Cause: 'download failed' } });
    const summary = await summarize({ run, lock: { released: true } });
    expect(summary).toMatchObject({
      status: 'FAILED',
      order: ['dea-1', 'core-1'],
      nodes: { 'dea-1': { status: 'FAILED', from: '3.0.0', to: '3.0.0' }, 'core-1': { status: 'NOT_STARTED' } },
      failure: { node: 'dea-1', step: 'download', exitCode: 4 },
      lockReleased: true,
    });
    await expect(store().getRun('handlers', run.runId)).resolves.toMatchObject({ status: 'FAILED' });
    await expect(store().getNodeRecord('handlers', 'dea-1')).resolves.toMatchObject({ status: 'FAILED', version: '3.0.0', lastRun: run.runId });
  });
});
