import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { FleetStore } from '../../adapters/store.js';
import type { StepId } from '../../core/steps.js';
import { inFlightSettled } from '../../local/scripted-operator.js';
import { runSummary } from '../../cli/watch.js';
import { WatchView } from '../../cli/watch-view.js';
import type { StackClients } from '../../cli/aws.js';
import { localTable } from '../support/dynamodb.js';
import { partitionReads, recordingClient, type RecordedRequest } from '../support/recorded-requests.js';

let dynamodb: LocalDynamoDb;
let store: FleetStore;
let requests: RecordedRequest[];

beforeAll(async () => {
  dynamodb = await localTable('fleet-upgrade-store-reads');
  const client = recordingClient(dynamodb.endpoint);
  store = new FleetStore(client.db, 'fleet-upgrade-store-reads');
  requests = client.requests;
});
afterAll(async () => {
  await dynamodb?.stop();
});
beforeEach(() => {
  requests.length = 0;
});

const checkpoint = (nodeId: string, step: StepId) => ({
  nodeId,
  step,
  status: 'SUCCEEDED' as const,
  exitCode: 0,
  warnings: [],
  startedAt: '2026-11-24T10:00:00.000Z',
});
const outcome = (nodeId: string) => ({ nodeId, status: 'UPGRADED' as const, from: '3.0.0', to: '3.1.0', at: '2026-11-24T10:05:00.000Z' });

/** A run of i-1, i-2 and i-10 with every kind of record: plan, checkpoints, outcomes, a hold, a held node, the stop mark. */
async function recordedRun(runId: string): Promise<void> {
  await store.putRun({
    runId,
    cluster: 'reads',
    targetVersion: '3.1.0',
    coreNode: 'i-2',
    order: ['i-1', 'i-2', 'i-10'],
    roles: {},
    plannedFrom: {},
    startedAt: 'now',
  });
  for (const c of [
    checkpoint('i-1', 'version-check'),
    checkpoint('i-1', 'upgrade'),
    checkpoint('i-10', 'version-check'),
    checkpoint('i-10', 'upgrade'),
    checkpoint('i-2', 'maintenance-on'),
  ]) {
    await store.putCheckpoint(runId, c);
  }
  await store.recordOutcome('reads', runId, [], outcome('i-1'));
  await store.recordOutcome('reads', runId, [], outcome('i-10'));
  await store.openHold(runId, 'i-2', 'upgrade', 'now');
  await store.holdNode(runId, 'i-2', 'token', ['i-1'], 'now');
  await store.markRunStopping(runId, 'i-2 failed', 'now');
  requests.length = 0;
}

describe("a run's records are read by kind and by node, never the whole partition", () => {
  it('outcomes are read alone: no checkpoint comes back, and the query takes only outcomes', async () => {
    await recordedRun('alone-1');
    const outcomes = await store.runOutcomes('alone-1');
    expect(outcomes.map((o) => o.nodeId)).toEqual(['i-1', 'i-10']);
    for (const o of outcomes) expect(o).not.toHaveProperty('step');
    expect(partitionReads(requests, 'RUN#alone-1')).toEqual([{ command: 'Query', prefix: 'OUTCOME#', itemsReturned: 2 }]);
  });

  it("checkpoints are read alone: maintenance mode's and every node's, and no outcome or hold", async () => {
    await recordedRun('alone-2');
    const checkpoints = await store.runCheckpoints('alone-2');
    expect(checkpoints.map((c) => `${c.nodeId} ${c.step}`)).toEqual([
      'i-2 maintenance-on',
      'i-1 version-check',
      'i-1 upgrade',
      'i-10 version-check',
      'i-10 upgrade',
    ]);
    expect(partitionReads(requests, 'RUN#alone-2')).toEqual([{ command: 'Query', prefix: 'STEP#', itemsReturned: 5 }]);
  });

  it("one node's checkpoints: i-1's never include i-10's", async () => {
    await recordedRun('node-1');
    await expect(store.nodeCheckpoints('node-1', 'i-1')).resolves.toMatchObject([
      { nodeId: 'i-1', step: 'version-check' },
      { nodeId: 'i-1', step: 'upgrade' },
    ]);
    expect(partitionReads(requests, 'RUN#node-1')).toEqual([{ command: 'Query', prefix: 'STEP#NODE#i-1#', itemsReturned: 2 }]);
  });

  it("the summary's read takes checkpoints, outcomes and held nodes, each by its prefix: never the plan, the holds or the stop mark", async () => {
    await recordedRun('summary-1');
    const { checkpoints, outcomes, held } = await store.runRecords('summary-1');
    expect([checkpoints.length, outcomes.length, held.map((h) => h.nodeId)]).toEqual([5, 2, ['i-2']]);
    const reads = partitionReads(requests, 'RUN#summary-1');
    expect(reads.map((r) => r.prefix).sort()).toEqual(['HELD#', 'OUTCOME#', 'STEP#']);
    expect(reads.reduce((n, r) => n + r.itemsReturned, 0)).toBe(8);
    // What a step wrote just before counts (a stopped run's cleanup must not miss a RUNNING step): every read is
    // strongly consistent. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html
    expect(requests.filter((r) => r.command === 'Query').map((r) => r.input.ConsistentRead)).toEqual([true, true, true]);
  });
});

describe("the rehearsal's scripted operator polls only what it waits for", () => {
  const ask = (runId: string, inFlight: string[]) =>
    store.putApproval(
      {
        approvalId: `approval-${runId}`,
        runId,
        cluster: 'reads',
        nodeId: 'i-2',
        roles: [],
        failedStep: 'upgrade',
        exitCode: 1,
        outputTail: '',
        from: '3.0.0',
        to: '3.1.0',
        backupId: null,
        upgraded: [],
        inFlight,
        held: [],
        createdAt: 'now',
        expiresAt: 'later',
        onTimeout: 'rollback',
      },
      'token',
      0,
    );

  it("the in-flight nodes' outcomes by key and the open questions: once i-1 and i-10 ended (or asked), it decides", async () => {
    await recordedRun('operator-1');
    await ask('operator-1', ['i-1', 'i-10']);
    requests.length = 0;
    await inFlightSettled(store, 'approval-operator-1', 5_000);
    const reads = partitionReads(requests, 'RUN#operator-1');
    expect(reads.filter((r) => r.command === 'Query').map((r) => r.prefix)).toEqual(['HOLD#']);
    expect(reads.filter((r) => r.command === 'BatchGetItem')).toEqual([{ command: 'BatchGetItem', sks: ['OUTCOME#i-1', 'OUTCOME#i-10'], itemsReturned: 2 }]);
  });

  it('a node in flight that asked too has settled; one still running is waited for', async () => {
    await recordedRun('operator-2');
    await store.openHold('operator-2', 'i-10', 'restart', 'now');
    await ask('operator-2', ['i-10']);
    const started = Date.now();
    await inFlightSettled(store, 'approval-operator-2', 5_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    await ask('operator-2b', ['i-10']);
    const waiting = Date.now();
    await inFlightSettled(store, 'approval-operator-2b', 1_500);
    expect(Date.now() - waiting).toBeGreaterThanOrEqual(1_500);
  });
});

describe("waiting for a run's summary (watch, stop --wait) polls the run's own record", () => {
  it("one read of CLUSTER#c / RUN#id a look, never the run's plan", async () => {
    await recordedRun('summary-wait');
    const view = new WatchView();
    Object.assign(view, { cluster: 'reads', status: 'ABORTED' });
    const clients = { store: async () => store } as unknown as StackClients;
    requests.length = 0;
    await expect(runSummary(clients, view, 'summary-wait', 600)).resolves.toBeNull();
    expect(partitionReads(requests, 'RUN#summary-wait')).toEqual([]);
    const looks = partitionReads(requests, 'CLUSTER#reads');
    expect(looks.length).toBeGreaterThan(0);
    for (const look of looks) expect(look).toMatchObject({ command: 'GetItem', sks: ['RUN#summary-wait'] });
  });
});
