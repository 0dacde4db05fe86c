import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSsm, CommandStatusChange } from '../../local/ssm-endpoint.js';
import { LocalTaskTokens } from '../../local/task-tokens.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, resetClients } from '../../adapters/aws-clients.js';
import { commandComment } from '../../adapters/ssm.js';
import { parseInput } from '../../core/input-schema.js';
import { runContext } from '../../core/run-context.js';
import { handler as lock } from '../../lambdas/lock/index.js';
import { handler as recordNode } from '../../lambdas/record-node/index.js';
import { handler as requestApproval } from '../../lambdas/request-approval/index.js';
import { handler as cleanUpRun } from '../../lambdas/clean-up-run/index.js';
import type { ExecutionStatusChangeEvent } from '../../core/execution-status.js';
import { buildSummary, type RunInfo } from '../../core/summary.js';
import type { StepId } from '../../core/steps.js';
import { startLocalSns } from '../../local/sns-endpoint.js';
import { HANDLER_NODES, startHandlerWorld } from '../support/handler-world.js';

/**
 * The handlers on the paths around a run: the cluster lock, a held run, the cleanup of a failed one.
 */
let ssm: LocalSsm;
let stopWorld: (() => Promise<void>) | undefined;
const tokens = new LocalTaskTokens();
const events: CommandStatusChange[] = [];
const store = () => new FleetStore(documentClient(), 'fleet-upgrade-test');

const nodes = HANDLER_NODES;

beforeAll(async () => {
  ({ ssm, stop: stopWorld } = await startHandlerWorld(tokens, events));
});

afterAll(async () => {
  await stopWorld?.();
});

describe('the cluster lock: held by one run, renewed, broken only explicitly', () => {
  it('refuses a second run even after the holder stopped renewing, naming it and how to unlock', async () => {
    await store().acquireLock('crashed', 'old-run', new Date(Date.now() - 7_200_000), 60);
    await expect(lock({ action: 'acquire', cluster: 'crashed', runId: 'new-run' })).rejects.toMatchObject({
      name: 'ClusterLockedError',
      message: expect.stringContaining('locked by run old-run, which stopped renewing the lock'),
    });
    await expect(lock({ action: 'acquire', cluster: 'crashed', runId: 'new-run' })).rejects.toThrow('fleet-upgrade unlock --cluster crashed --run old-run');
    await expect(store().getLock('crashed')).resolves.toMatchObject({ runId: 'old-run' });
  });

  it('two runs starting at once: exactly one holds the lock', async () => {
    const outcomes = await Promise.allSettled(['racer-a', 'racer-b', 'racer-c'].map((runId) => lock({ action: 'acquire', cluster: 'race', runId })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const holder = (await store().getLock('race'))?.runId;
    for (const o of outcomes) if (o.status === 'rejected') expect(String(o.reason)).toContain(`locked by run ${String(holder)}`);
  });

  it('each node that starts renews it; a run whose lock was broken starts no further node', async () => {
    const held = runContext(parseInput({ cluster: 'renewed', targetVersion: '3.1.0', nodes }), 'renewed-run', '2026-11-24T10:00:00.000Z');
    await store().acquireLock('renewed', held.runId, new Date(Date.now() - 3_600_000), 3_700);
    const before = (await store().getLock('renewed'))?.expiresAt ?? '';
    await expect(recordNode({ action: 'gate', node: { id: 'dea-1' }, run: held })).resolves.toEqual({ go: true });
    expect(Date.parse((await store().getLock('renewed'))?.expiresAt ?? '')).toBeGreaterThan(Date.parse(before) + 3_000_000);
    // An operator broke the lock (fleet-upgrade unlock): the run stops before its next node.
    await store().releaseLock('renewed', held.runId);
    await expect(recordNode({ action: 'gate', node: { id: 'core-1' }, run: held })).resolves.toMatchObject({
      go: false,
      reason: expect.stringContaining('no longer held by this run'),
    });
  });

  it('a run waiting for a decision holds the lock until the approval expires, plus the usual hold', async () => {
    const sns = await startLocalSns(() => undefined);
    const saved = { endpoint: process.env.AWS_ENDPOINT_URL_SNS, topic: process.env.TOPIC_ARN };
    Object.assign(process.env, { AWS_ENDPOINT_URL_SNS: sns.endpoint, TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:fleet-upgrade-test' });
    resetClients();
    try {
      // Approvals may wait far longer than the lock's 12 h hold: 3 days here.
      const waiting = runContext(
        parseInput({ cluster: 'waiting', targetVersion: '3.1.0', nodes, approval: { timeoutMinutes: 3 * 24 * 60 } }),
        'waiting-run',
        '2026-11-24T10:00:00.000Z',
      );
      await store().acquireLock('waiting', waiting.runId, new Date(), 43_200);
      const asked = await requestApproval({
        action: 'ask',
        taskToken: 'token-of-the-waiting-task',
        node: { id: 'dea-1' },
        run: waiting,
        failedStep: 'upgrade',
        error: { Error: 'StepFailed', Cause: 'injected' },
      });
      const approval = await store().getApproval((asked as { asked: string }).asked);
      // Asking holds the run: no node starts until the question is answered.
      await expect(store().openHolds(waiting.runId)).resolves.toMatchObject([{ nodeId: 'dea-1', step: 'upgrade' }]);
      await expect(recordNode({ action: 'gate', node: { id: 'core-1' }, run: waiting })).resolves.toEqual({ go: false, held: true, waitingFor: ['dea-1'] });
      const lockedUntil = Date.parse((await store().getLock('waiting'))?.expiresAt ?? '');
      expect(lockedUntil).toBeGreaterThanOrEqual(Date.parse(approval?.expiresAt ?? '') + 43_200_000 - 2_000);
      expect(sns.published.map((m) => m.attributes.kind)).toEqual(['approval']);
      // A lock broken meanwhile (unlock) is not taken back: the operator is asked all the same.
      await store().releaseLock('waiting', waiting.runId);
      await requestApproval({ action: 'ask', taskToken: 'token-of-the-waiting-task-2', node: { id: 'dea-1' }, run: waiting, failedStep: 'upgrade' });
      await expect(store().getLock('waiting')).resolves.toBeNull();
      expect(sns.published).toHaveLength(2);
    } finally {
      for (const [name, value] of [
        ['AWS_ENDPOINT_URL_SNS', saved.endpoint],
        ['TOPIC_ARN', saved.topic],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      resetClients();
      await sns.close();
    }
  });
});

describe('a failed node holds the run: no node starts while the operator decides', () => {
  const heldRun = (name: string) => runContext(parseInput({ cluster: name, targetVersion: '3.1.0', nodes }), `${name}-run`, '2026-11-24T10:00:00.000Z');
  /** Resolves with the waiting state's output, or 'waiting' if nobody answered within a moment. */
  const within = (answer: Promise<unknown>, ms = 300) => Promise.race([answer, new Promise((resolve) => setTimeout(() => resolve('waiting'), ms))]);
  /** The node's waiting state: its answer, once the hold action has run (wrapped: an async function would adopt it). */
  async function hold(r: ReturnType<typeof heldRun>, nodeId: string, waitingFor: string[]): Promise<{ answer: Promise<unknown> }> {
    const token = tokens.mint();
    const answer = tokens.wait(token);
    await recordNode({ action: 'hold', taskToken: token, node: { id: nodeId }, run: r, waitingFor });
    return { answer };
  }

  it("a held node waits until the failed node's outcome is recorded (retry succeeded), then may start; the wait is recorded", async () => {
    const r = heldRun('held-retry');
    await store().acquireLock(r.cluster, r.runId, new Date(), 3_600);
    await store().openHold(r.runId, 'dea-1', 'restart', new Date().toISOString());
    await expect(recordNode({ action: 'gate', node: { id: 'core-1' }, run: r })).resolves.toEqual({ go: false, held: true, waitingFor: ['dea-1'] });
    const { answer } = await hold(r, 'core-1', ['dea-1']);
    await expect(within(answer)).resolves.toBe('waiting');
    await recordNode({ action: 'upgraded', node: { id: 'dea-1' }, run: r });
    await expect(within(answer, 5_000)).resolves.toEqual({ released: true });
    await expect(recordNode({ action: 'gate', node: { id: 'core-1' }, run: r })).resolves.toEqual({ go: true });
    const [held] = await store().heldNodes(r.runId);
    expect(held).toMatchObject({ nodeId: 'core-1', waitedFor: ['dea-1'], releasedAt: expect.any(String) });
    expect(held?.taskToken).toBeUndefined();
    expect(held?.heldMs).toBeGreaterThanOrEqual(300);
  });

  it('two open questions: answering one keeps the node held; a rollback of the other releases it to end unstarted', async () => {
    const r = heldRun('held-two');
    await store().acquireLock(r.cluster, r.runId, new Date(), 3_600);
    await store().openHold(r.runId, 'dea-1', 'upgrade', new Date().toISOString());
    await store().openHold(r.runId, 'dea-2', 'upgrade', new Date().toISOString());
    await expect(recordNode({ action: 'gate', node: { id: 'core-1' }, run: r })).resolves.toMatchObject({ waitingFor: ['dea-1', 'dea-2'] });
    const { answer } = await hold(r, 'core-1', ['dea-1', 'dea-2']);
    // dea-1 skipped (rolled back, the run goes on): dea-2's question is still open.
    await recordNode({
      action: 'rolledBack',
      node: { id: 'dea-1' },
      run: r,
      approval: { decision: 'skip', decidedBy: 'test', decidedAt: new Date().toISOString(), byTimeout: false },
    });
    await expect(within(answer)).resolves.toBe('waiting');
    await recordNode({
      action: 'rolledBack',
      node: { id: 'dea-2' },
      run: r,
      approval: { decision: 'rollback', decidedBy: 'test', decidedAt: new Date().toISOString(), byTimeout: false },
    });
    await expect(within(answer, 5_000)).resolves.toEqual({ released: true });
    await expect(recordNode({ action: 'gate', node: { id: 'core-1' }, run: r })).resolves.toEqual({
      go: false,
      reason: expect.stringContaining('rollback decided for dea-2'),
    });
  });

  it('a node that registers its wait after the last question closed releases itself at once (no lost release)', async () => {
    const r = heldRun('held-late');
    await store().acquireLock(r.cluster, r.runId, new Date(), 3_600);
    await store().openHold(r.runId, 'dea-1', 'upgrade', new Date().toISOString());
    await expect(recordNode({ action: 'gate', node: { id: 'core-1' }, run: r })).resolves.toMatchObject({ held: true });
    // The question is answered between the gate and the wait: the releaser found nobody waiting.
    await recordNode({ action: 'upgraded', node: { id: 'dea-1' }, run: r });
    const { answer } = await hold(r, 'core-1', ['dea-1']);
    await expect(within(answer, 5_000)).resolves.toEqual({ released: true });
  });

  it('an older release does not end a newer wait of the same node (its waiting state timed out and asked again)', async () => {
    const r = heldRun('held-again');
    await store().holdNode(r.runId, 'core-1', 'token-a', ['dea-1'], new Date().toISOString());
    const [first] = await store().heldNodes(r.runId);
    await store().holdNode(r.runId, 'core-1', 'token-b', ['dea-1'], new Date().toISOString());
    await expect(store().releaseHeldNode(r.runId, first as NonNullable<typeof first>, new Date().toISOString())).resolves.toBe(false);
    await expect(store().heldNodes(r.runId)).resolves.toMatchObject([{ nodeId: 'core-1', taskToken: 'token-b' }]);
  });
});

// The stop rule hands FAILED on too: a failure no Catch takes (States.DataLimitExceeded,
// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html) skips the failure path.
describe('clean-up-run after a FAILED execution', () => {
  const failedRun = (runId: string): RunInfo => ({
    runId,
    cluster: 'handlers',
    targetVersion: '3.1.0',
    coreNode: 'core-1',
    order: ['core-1', 'dea-1'],
    roles: { 'core-1': ['primary'], 'dea-1': ['dea'] },
    plannedFrom: { 'core-1': '3.0.0', 'dea-1': '3.0.0' },
    startedAt: '2026-11-24T10:00:00.000Z',
  });
  const checkpoint = (step: StepId, status: 'SUCCEEDED' | 'RUNNING' = 'SUCCEEDED') => ({
    nodeId: 'core-1',
    step,
    status,
    exitCode: status === 'SUCCEEDED' ? 0 : null,
    warnings: [],
    startedAt: new Date().toISOString(),
    ...(status === 'SUCCEEDED' ? { finishedAt: new Date().toISOString() } : {}),
  });
  const failedEvent = (runId: string): ExecutionStatusChangeEvent => ({
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    detail: {
      executionArn: `arn:aws:states:us-east-1:123456789012:execution:machine:${runId}`,
      name: runId,
      status: 'FAILED',
      input: JSON.stringify({ cluster: 'handlers', targetVersion: '3.1.0' }),
      error: 'States.DataLimitExceeded',
      cause: 'The state/task returned a result with a size exceeding the maximum number of bytes service limit.',
    },
  });
  const sent = (runId: string, step: StepId) => ssm.invocations.filter((i) => i.comment === commandComment(runId, step)).length;
  /** Both nodes upgraded and recorded; maintenance mode on: where a too-large Map result fails the run. */
  async function upgradedThenFailed(runId: string): Promise<void> {
    const s = store();
    await s.putRun(failedRun(runId));
    await s.acquireLock('handlers', runId, new Date(), 3600);
    await s.putCheckpoint(runId, checkpoint('maintenance-on'));
    for (const nodeId of ['core-1', 'dea-1']) {
      await s.putCheckpoint(runId, { ...checkpoint('upgrade'), nodeId });
      await s.recordOutcome('handlers', runId, [], { nodeId, status: 'UPGRADED', from: '3.0.0', to: '3.1.0', at: new Date().toISOString() });
    }
  }

  beforeAll(() => {
    process.env.RUN_STOPPED_POLL_MS = '20';
  });

  it('the failure path was skipped: maintenance mode off, lock released, the summary names the error; a second delivery changes nothing', async () => {
    await upgradedThenFailed('failed-run-1');
    const first = await cleanUpRun(failedEvent('failed-run-1'));
    expect(first).toMatchObject({ done: true, cluster: 'handlers', rolledBack: [], maintenanceOff: 'SUCCEEDED', lockReleased: true });
    expect(sent('failed-run-1', 'maintenance-off')).toBe(1);
    await expect(store().getLock('handlers')).resolves.toBeNull();
    const recorded = await store().getRun('handlers', 'failed-run-1');
    expect(recorded?.summary).toMatchObject({
      status: 'FAILED',
      lockReleased: true,
      failure: { error: 'States.DataLimitExceeded', message: expect.stringContaining('the execution failed with States.DataLimitExceeded') },
    });
    // Invoked again (a retried invocation): it finds the summary and sends nothing.
    await expect(cleanUpRun(failedEvent('failed-run-1'))).resolves.toMatchObject({
      done: true,
      rolledBack: [],
      maintenanceOff: 'not-needed',
      lockReleased: true,
    });
    expect(sent('failed-run-1', 'maintenance-off')).toBe(1);
    expect((await store().getRun('handlers', 'failed-run-1'))?.summary).toEqual(recorded?.summary);
  });

  it("the run's own failure path finished: nothing is sent, the summary stays, and a lock another run took since stays with it", async () => {
    await upgradedThenFailed('failed-run-2');
    // What the failure path did: maintenance mode off, lock released, summary recorded; then another run locked the cluster.
    await store().putCheckpoint('failed-run-2', checkpoint('maintenance-off'));
    await store().releaseLock('handlers', 'failed-run-2');
    const { checkpoints, outcomes } = await store().runRecords('failed-run-2');
    const summary = buildSummary({
      run: failedRun('failed-run-2'),
      checkpoints,
      outcomes,
      lockReleased: true,
      caught: { Error: 'StepFailed', Cause: 'maintenance-off' },
      finishedAt: new Date().toISOString(),
    });
    await store().completeRun(summary);
    await store().acquireLock('handlers', 'next-run', new Date(), 3600);
    try {
      await expect(cleanUpRun(failedEvent('failed-run-2'))).resolves.toEqual({
        done: true,
        cluster: 'handlers',
        rolledBack: [],
        maintenanceOff: 'not-needed',
        lockReleased: false,
      });
      expect(ssm.invocations.filter((i) => commandRuns(i.comment) === 'failed-run-2')).toEqual([]);
      expect((await store().getRun('handlers', 'failed-run-2'))?.summary).toEqual(summary);
      await expect(store().getLock('handlers')).resolves.toMatchObject({ runId: 'next-run' });
    } finally {
      await store().releaseLock('handlers', 'next-run');
    }
  });

  it('maintenance mode already off but no summary (the summary could not be written): it is not switched off again', async () => {
    await upgradedThenFailed('failed-run-3');
    await store().putCheckpoint('failed-run-3', checkpoint('maintenance-off'));
    await expect(cleanUpRun(failedEvent('failed-run-3'))).resolves.toMatchObject({
      done: true,
      rolledBack: [],
      maintenanceOff: 'not-needed',
      lockReleased: true,
    });
    expect(sent('failed-run-3', 'maintenance-off')).toBe(0);
    await expect(store().getRun('handlers', 'failed-run-3')).resolves.toMatchObject({
      status: 'FAILED',
      summary: { maintenanceMode: { disabledAt: expect.any(String) } },
    });
  });

  it("a node whose rollback already succeeded (the run's own, just before the stop) gets no second rollback", async () => {
    const runId = 'stopped-run-rolled';
    await store().putRun(failedRun(runId));
    await store().acquireLock('handlers', runId, new Date(), 3600);
    await store().putCheckpoint(runId, { ...checkpoint('upgrade'), nodeId: 'dea-1' });
    await store().putCheckpoint(runId, { ...checkpoint('rollback'), nodeId: 'dea-1', details: { version: '3.0.0' } });
    const stopped = { ...failedEvent(runId), detail: { ...failedEvent(runId).detail, status: 'ABORTED', error: 'StoppedByOperator' } };
    await expect(cleanUpRun(stopped, { getRemainingTimeInMillis: () => 400_000 })).resolves.toMatchObject({
      done: true,
      rolledBack: [{ nodeId: 'dea-1', outcome: 'SUCCEEDED', version: '3.0.0' }],
      lockReleased: true,
    });
    expect(sent(runId, 'rollback')).toBe(0);
  });

  it('a step whose command must have ended long ago (its own time bound passed) is not waited for: invocation after invocation would wait forever', async () => {
    const runId = 'stopped-run-stale';
    await store().putRun(failedRun(runId));
    await store().acquireLock('handlers', runId, new Date(), 3600);
    // The run-step that started dea-1's upgrade died before recording anything more, three hours ago.
    await store().putCheckpoint(runId, {
      ...checkpoint('upgrade', 'RUNNING'),
      nodeId: 'dea-1',
      startedAt: new Date(Date.now() - 3 * 3600_000).toISOString(),
      timeoutSeconds: 600,
    });
    const stopped = { ...failedEvent(runId), detail: { ...failedEvent(runId).detail, status: 'ABORTED', error: 'StoppedByOperator' } };
    await expect(cleanUpRun(stopped, { getRemainingTimeInMillis: () => 400_000 })).resolves.toMatchObject({
      done: true,
      rolledBack: [{ nodeId: 'dea-1', outcome: 'SUCCEEDED' }],
      lockReleased: true,
    });
    expect(sent(runId, 'rollback')).toBe(1);
  }, 20_000);

  it("a cleanup that runs out of its invocation's time says it is not done, and the next invocation waits for the rollback already sent instead of sending another", async () => {
    const runId = 'stopped-run-slow';
    await store().putRun(failedRun(runId));
    await store().acquireLock('handlers', runId, new Date(), 3600);
    // dea-1 was caught between its upgrade and its outcome: it is rolled back.
    await store().putCheckpoint(runId, { ...checkpoint('upgrade'), nodeId: 'dea-1' });
    const stopped = { ...failedEvent(runId), detail: { ...failedEvent(runId).detail, status: 'ABORTED', error: 'StoppedByOperator' } };
    // Lambda's context: 20 s left, under the margin the cleanup keeps to record its progress.
    await expect(cleanUpRun(stopped, { getRemainingTimeInMillis: () => 20_000 })).resolves.toMatchObject({
      done: false,
      waitingFor: expect.stringContaining('rollback on dea-1'),
    });
    expect(sent(runId, 'rollback')).toBe(1);
    await expect(store().getCheckpoint(runId, 'dea-1', 'rollback')).resolves.toMatchObject({ status: 'RUNNING', commandId: expect.any(String) });
    // The cleanup state machine invokes it again: it takes the command over and finishes the cleanup.
    await expect(cleanUpRun(stopped, { getRemainingTimeInMillis: () => 400_000 })).resolves.toMatchObject({
      done: true,
      rolledBack: [{ nodeId: 'dea-1', outcome: 'SUCCEEDED' }],
      lockReleased: true,
    });
    expect(sent(runId, 'rollback')).toBe(1);
  });
});

/** The run id a command's comment names (`fleet-upgrade <step> <runId>`). */
function commandRuns(comment: string | undefined): string | undefined {
  return comment?.split(' ')[2];
}
