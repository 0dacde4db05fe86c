import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { startLocalSns, type LocalSns } from '../../local/sns-endpoint.js';
import { LocalTaskTokens } from '../../local/task-tokens.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, resetClients } from '../../adapters/aws-clients.js';
import { parseInput } from '../../core/input-schema.js';
import { runContext, type RunContext } from '../../core/run-context.js';
import type { StepId } from '../../core/steps.js';
import type { StepCheckpoint } from '../../core/summary.js';
import { handler as requestApproval } from '../../lambdas/request-approval/index.js';
import { handler as recordNode } from '../../lambdas/record-node/index.js';
import { handler as summarize } from '../../lambdas/summarize/index.js';
import { handler as plan } from '../../lambdas/plan/index.js';
import { localTable } from '../support/dynamodb.js';
import { partitionReads, recordHandlerRequests, type PartitionRead } from '../support/recorded-requests.js';

/**
 * A run's partition holds about eight items per node; the handlers on a node's path read that node's own items,
 * or one kind of record by its prefix, never the whole partition (thousands of nodes: tens of thousands of items).
 */
let dynamodb: LocalDynamoDb;
let sns: LocalSns;
const tokens = new LocalTaskTokens();
const store = () => new FleetStore(documentClient(), 'fleet-upgrade-handler-reads');

beforeAll(async () => {
  dynamodb = await localTable('fleet-upgrade-handler-reads');
  sns = await startLocalSns(() => undefined);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SFN: await tokens.start(),
    AWS_ENDPOINT_URL_SNS: sns.endpoint,
    TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:fleet-upgrade-test',
  });
  resetClients();
});
afterAll(async () => {
  await sns?.close();
  await tokens.close();
  await dynamodb?.stop();
});

const ids = Array.from({ length: 12 }, (_, i) => `i-${i + 1}`);
const nodes = ids.map((id) => ({ id, roles: id === 'i-12' ? ['primary'] : ['dea'] }));

/** A planned run of i-1 … i-12 (DEAs, i-12 the core node) holding the cluster lock. */
async function plannedRun(runId: string): Promise<RunContext> {
  const run = runContext(parseInput({ cluster: `c-${runId}`, targetVersion: '3.1.0', nodes }), runId, '2026-11-24T10:00:00.000Z');
  await store().putRun({
    runId,
    cluster: run.cluster,
    targetVersion: '3.1.0',
    coreNode: 'i-12',
    order: ids,
    roles: Object.fromEntries(nodes.map((n) => [n.id, n.roles])),
    plannedFrom: {},
    startedAt: run.startedAt,
  });
  await store().acquireLock(run.cluster, runId, new Date(), 3600);
  return run;
}

const checkpoint = (nodeId: string, step: StepId, more: Partial<StepCheckpoint> = {}): StepCheckpoint => ({
  nodeId,
  step,
  status: 'SUCCEEDED',
  exitCode: 0,
  warnings: [],
  startedAt: '2026-11-24T10:01:00.000Z',
  finishedAt: '2026-11-24T10:02:00.000Z',
  ...more,
});

/** Runs `fn` and returns the reads of the run's partition it made. */
async function readsOf(runId: string, fn: () => Promise<unknown>): Promise<PartitionRead[]> {
  const recorder = recordHandlerRequests();
  try {
    await fn();
  } finally {
    recorder.stop();
  }
  return partitionReads(recorder.requests, `RUN#${runId}`);
}

const wholePartition = (reads: PartitionRead[]) => reads.filter((r) => r.command === 'Query' && r.prefix === undefined);
const queried = (reads: PartitionRead[]) => [...new Set(reads.filter((r) => r.command === 'Query').map((r) => r.prefix))].sort();

describe("reads of a run's partition on a node's path", () => {
  it("asking the operator reads the failed node's own checkpoints, the plan and the outcomes: who waits and what is upgraded, from small items", async () => {
    const run = await plannedRun('ask-1');
    for (const id of ['i-2', 'i-3']) {
      await store().putCheckpoint(run.runId, checkpoint(id, 'post-upgrade-validation', { details: { version: '3.1.0' } }));
      await store().recordOutcome(run.cluster, run.runId, ['dea'], { nodeId: id, status: 'UPGRADED', from: '3.0.0', to: '3.1.0', at: 'now' });
    }
    for (const id of ['i-1', 'i-10']) await expect(recordNode({ action: 'gate', node: { id }, run })).resolves.toEqual({ go: true });
    await store().putCheckpoint(run.runId, checkpoint('i-10', 'pre-upgrade-validation', { status: 'RUNNING', exitCode: null }));
    await store().putCheckpoint(run.runId, checkpoint('i-1', 'version-check', { details: { version: '3.0.0' } }));
    await store().putCheckpoint(run.runId, checkpoint('i-1', 'backup'));
    await store().putCheckpoint(run.runId, checkpoint('i-1', 'upgrade', { status: 'FAILED', exitCode: 3, outputTail: 'disk full' }));

    let asked: unknown;
    const reads = await readsOf(run.runId, async () => {
      asked = await requestApproval({
        action: 'ask',
        taskToken: 'token-ask-1',
        node: { id: 'i-1' },
        run,
        failedStep: 'upgrade',
        error: { Error: 'StepFailed', Cause: 'disk full' },
      });
    });
    const approval = await store().getApproval((asked as { asked: string }).asked);
    expect(approval).toMatchObject({
      nodeId: 'i-1',
      roles: ['dea'],
      failedStep: 'upgrade',
      exitCode: 3,
      outputTail: 'disk full',
      from: '3.0.0',
      to: '3.1.0',
      backupId: 'ask-1',
      upgraded: ['i-2', 'i-3'],
      inFlight: ['i-10'],
      held: ['i-4', 'i-5', 'i-6', 'i-7', 'i-8', 'i-9', 'i-11', 'i-12'],
    });
    expect(wholePartition(reads)).toEqual([]);
    expect(queried(reads)).toEqual(['OUTCOME#', 'PLAN#', 'STEP#NODE#i-1#']);
    // i-1's three checkpoints, never i-10's, nor the upgraded nodes'.
    expect(reads.filter((r) => r.prefix === 'STEP#NODE#i-1#').map((r) => r.itemsReturned)).toEqual([3]);
    // A node that comes to the gate while the question is open is held, and not noted as started.
    await expect(recordNode({ action: 'gate', node: { id: 'i-4' }, run })).resolves.toMatchObject({ held: true });
    const started = (await store().plannedNodes(run.runId)).filter((p) => p.startedAt !== undefined).map((p) => p.nodeId);
    expect(started).toEqual(['i-1', 'i-10']);
  });

  it('the gate, holding a node and recording its outcome read by key or by the prefix of what they need', async () => {
    const run = await plannedRun('record-1');
    for (const id of ids) await store().putCheckpoint(run.runId, checkpoint(id, 'version-check', { details: { version: '3.0.0' } }));
    const reads = await readsOf(run.runId, async () => {
      await recordNode({ action: 'gate', node: { id: 'i-1' }, run });
      await store().openHold(run.runId, 'i-5', 'upgrade', 'now');
      await recordNode({ action: 'gate', node: { id: 'i-2' }, run });
      await recordNode({ action: 'hold', taskToken: tokens.mint(), node: { id: 'i-2' }, run, waitingFor: ['i-5'] });
      await recordNode({ action: 'upgraded', node: { id: 'i-1', roles: ['dea'] }, run });
      await recordNode({ action: 'failed', node: { id: 'i-5' }, run, error: { Error: 'StepFailed', Cause: 'x' } });
      await expect(recordNode({ action: 'checkStop', node: { id: 'dea' }, run })).rejects.toMatchObject({ name: 'RunStopped' });
    });
    expect(wholePartition(reads)).toEqual([]);
    expect(queried(reads)).toEqual(['HELD#', 'HOLD#', 'STEP#NODE#i-1#', 'STEP#NODE#i-5#']);
  });

  it("the summary reads every node's records, each kind by its own prefix", async () => {
    const run = await plannedRun('summary-1');
    for (const id of ids) await store().putCheckpoint(run.runId, checkpoint(id, 'version-check', { details: { version: '3.0.0' } }));
    const reads = await readsOf(run.runId, () => summarize({ run, lock: { released: true } }));
    expect(wholePartition(reads)).toEqual([]);
    expect(queried(reads)).toEqual(['HELD#', 'OUTCOME#', 'PLAN#', 'STEP#']);
  });

  it('deciding which nodes to upgrade reads the plan, the outcomes and the checkpoints, each by its prefix', async () => {
    const run = await plannedRun('decide-1');
    for (const id of ids) await store().putCheckpoint(run.runId, checkpoint(id, 'version-check', { details: { version: id === 'i-3' ? '3.1.0' : '3.0.0' } }));
    const { nodes: _nodes, ...input } = parseInput({ cluster: run.cluster, targetVersion: '3.1.0', nodes });
    let decided: unknown;
    const reads = await readsOf(run.runId, async () => {
      decided = await plan({ input, run, phase: 'decide' });
    });
    expect(decided).toMatchObject({ upgradeCount: 11, skipCount: 1 });
    expect(wholePartition(reads)).toEqual([]);
    expect(queried(reads)).toEqual(['OUTCOME#', 'PLAN#', 'STEP#']);
  });
});
