import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSsm, CommandStatusChange } from '../../local/ssm-endpoint.js';
import { LocalTaskTokens } from '../../local/task-tokens.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, ssmClient } from '../../adapters/aws-clients.js';
import { SsmCommandRunner, commandComment } from '../../adapters/ssm.js';
import { parseInput } from '../../core/input-schema.js';
import { runContext } from '../../core/run-context.js';
import { handler as validateInput } from '../../lambdas/validate-input/index.js';
import { handler as lock } from '../../lambdas/lock/index.js';
import { handler as plan } from '../../lambdas/plan/index.js';
import { handler as runStep } from '../../lambdas/run-step/index.js';
import { handler as commandFinished } from '../../lambdas/command-finished/index.js';
import { handler as recordNode } from '../../lambdas/record-node/index.js';
import { handler as summarize } from '../../lambdas/summarize/index.js';
import { HANDLER_NODES, startHandlerWorld } from '../support/handler-world.js';

let ssm: LocalSsm;
let stopWorld: (() => Promise<void>) | undefined;
const tokens = new LocalTaskTokens();
const events: CommandStatusChange[] = [];
const store = () => new FleetStore(documentClient(), 'fleet-upgrade-test');

const nodes = HANDLER_NODES;
const input = parseInput({ cluster: 'handlers', targetVersion: '3.1.0', nodes });
const run = runContext(input, 'handlers-run-1', '2026-11-24T10:00:00.000Z');

beforeAll(async () => {
  ({ ssm, stop: stopWorld } = await startHandlerWorld(tokens, events));
});

afterAll(async () => {
  await stopWorld?.();
});

/** Runs a step the way the state machine does: mint a token, invoke run-step, wait for command-finished's answer. */
async function step(stepId: 'version-check' | 'download' | 'self-update' | 'pre-upgrade-validation', nodeId: string): Promise<unknown> {
  const token = tokens.mint();
  await runStep({ taskToken: token, step: stepId, node: { id: nodeId }, run });
  return tokens.wait(token);
}

describe('handlers against the local DynamoDB', () => {
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
      status: 'RUNNING',
      coreNode: 'core-1',
      order: ['dea-1', 'core-1'],
      roles: { 'dea-1': ['dea'], 'core-1': ['primary'] },
    });
  });

  it('records the plan of a 6,000-node run within DynamoDB item limits and reads it back in order', async () => {
    const ids = Array.from({ length: 6000 }, (_, i) => `i-${(0x0abc0000000000 + i).toString(16).padStart(17, '0')}`);
    await store().putRun({
      runId: 'big-run',
      cluster: 'big',
      targetVersion: '3.2.0',
      coreNode: ids[0] ?? '',
      order: ids,
      roles: Object.fromEntries(ids.map((id, i) => [id, i === 0 ? ['primary', 'controller'] : ['dea']])),
      plannedFrom: Object.fromEntries(ids.map((id) => [id, '3.1.0'])),
      startedAt: 'now',
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

  it("a step whose output GetCommandInvocation cuts off is read to its end from the command's CloudWatch log stream", async () => {
    const result = await step('pre-upgrade-validation', 'dea-1');
    expect(result).toMatchObject({ outcome: 'SUCCEEDED', details: { checked: 2000 } });
    expect((result as { outputTail: string }).outputTail).toMatch(/checking item 1999 of 2000\n\{"checked":2000\}$/);
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

describe('lost, late and duplicate status events; retried steps never run a step twice', () => {
  const runOf = (id: string) => runContext(input, id, '2026-11-24T10:00:00.000Z');
  const stepsRun = (runId: string, step: string) =>
    ssm.invocations.filter((i) => i.step === step && i.commandId !== '' && commandRuns.get(i.commandId) === runId).length;
  const commandRuns = new Map<string, string>();
  /** One attempt of a step task: a fresh token, run-step; returns the token's answer (a promise) and how run-step served it. */
  async function attempt(runId: string, stepId: 'self-update', nodeId: string) {
    const token = tokens.mint();
    const answer = tokens.wait(token);
    const served = await runStep({ taskToken: token, step: stepId, node: { id: nodeId }, run: runOf(runId) });
    commandRuns.set(served.commandId, runId);
    return { answer, served: served.served };
  }

  /** The status-change event SSM sends when a command succeeds (the one a lost event would have been). */
  const statusEvent = (commandId: string, instanceId: string): CommandStatusChange => ({
    version: '0',
    id: `event-${commandId}`,
    'detail-type': 'EC2 Command Invocation Status-change Notification',
    source: 'aws.ssm',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: {
      'command-id': commandId,
      'document-name': 'test-doc',
      'instance-id': instanceId,
      'requested-date-time': new Date().toISOString(),
      status: 'Success',
    },
  });

  it("a lost event: the timed-out task's retry reconciles with GetCommandInvocation, and the node ran the step once", async () => {
    ssm.inject({ nodeId: 'core-1', step: 'self-update', times: 1, kind: 'lost-event' });
    const first = await attempt('lost-run', 'self-update', 'core-1');
    await ssm.idle();
    const retry = await attempt('lost-run', 'self-update', 'core-1');
    expect(retry.served).toBe('reconciled');
    await expect(retry.answer).resolves.toMatchObject({ outcome: 'SUCCEEDED', step: 'self-update' });
    expect(stepsRun('lost-run', 'self-update')).toBe(1);
    await expect(store().getCheckpoint('lost-run', 'core-1', 'self-update')).resolves.toMatchObject({ status: 'SUCCEEDED' });
    void first.answer.catch(() => undefined);
  });

  it('a crash after SendCommand, before the command was recorded: the retry finds that command and the node ran the step once', async () => {
    // What the crashed attempt left behind: its RUNNING checkpoint, and a command SSM has but DynamoDB does not.
    await store().putCheckpoint('crash-run', {
      nodeId: 'core-1',
      step: 'self-update',
      status: 'RUNNING',
      exitCode: null,
      warnings: [],
      startedAt: new Date().toISOString(),
    });
    const sent = await new SsmCommandRunner(ssmClient(), 'test-doc').send('core-1', {
      step: 'self-update',
      targetVersion: '3.1.0',
      artifactBaseUrl: 'http://127.0.0.1:1/artifacts',
      httpsProxy: '',
      runId: 'crash-run',
      executionTimeout: '60',
    });
    // Its status event came while nobody knew the command: command-finished ignored it (as in AWS).
    await ssm.idle();
    const retry = await attempt('crash-run', 'self-update', 'core-1');
    expect(retry.served).toBe('reconciled');
    await expect(retry.answer).resolves.toMatchObject({ outcome: 'SUCCEEDED', step: 'self-update' });
    expect(ssm.invocations.filter((i) => i.comment === commandComment('crash-run', 'self-update')).map((i) => i.commandId)).toEqual([sent]);
    await expect(store().getCheckpoint('crash-run', 'core-1', 'self-update')).resolves.toMatchObject({ status: 'SUCCEEDED', commandId: sent });
  });

  it("an operator's retry that crashed before sending sends the step again (the answered command was the earlier attempt's)", async () => {
    const first = await attempt('again-run', 'self-update', 'core-1');
    await expect(first.answer).resolves.toMatchObject({ outcome: 'SUCCEEDED' });
    await store().putCheckpoint('again-run', {
      nodeId: 'core-1',
      step: 'self-update',
      status: 'RUNNING',
      exitCode: null,
      warnings: [],
      startedAt: new Date().toISOString(),
    });
    const retry = await attempt('again-run', 'self-update', 'core-1');
    expect(retry.served).toBe('sent');
    await expect(retry.answer).resolves.toMatchObject({ outcome: 'SUCCEEDED' });
    expect(ssm.invocations.filter((i) => i.comment === commandComment('again-run', 'self-update'))).toHaveLength(2);
  });

  it('a retry while the command still runs takes it over: the completion answers the retry', async () => {
    process.env.STEP_TIMEOUT_CAP_SECONDS = '1';
    try {
      ssm.inject({ nodeId: 'core-1', step: 'self-update', times: 1, kind: 'hang' });
      await attempt('adopt-run', 'self-update', 'core-1');
      const retry = await attempt('adopt-run', 'self-update', 'core-1');
      expect(retry.served).toBe('adopted');
      await expect(retry.answer).rejects.toMatchObject({ name: 'StepFailed', message: expect.stringContaining('injected hang') });
      expect(stepsRun('adopt-run', 'self-update')).toBe(1);
    } finally {
      delete process.env.STEP_TIMEOUT_CAP_SECONDS;
    }
  });

  it('a node that went offline: past its timeout the retry cancels the command and fails the step, saying so', async () => {
    process.env.STEP_TIMEOUT_CAP_SECONDS = '1';
    try {
      ssm.inject({ nodeId: 'core-1', step: 'self-update', times: 1, kind: 'offline' });
      await attempt('offline-run', 'self-update', 'core-1');
      // Past its delivery (1 s) and execution (1 s) timeouts and the margin (1 s).
      await new Promise((resolve) => setTimeout(resolve, 3_100));
      const retry = await attempt('offline-run', 'self-update', 'core-1');
      expect(retry.served).toBe('unresponsive');
      await expect(retry.answer).rejects.toMatchObject({ name: 'StepFailed', message: expect.stringContaining('went offline') });
      await expect(store().getCheckpoint('offline-run', 'core-1', 'self-update')).resolves.toMatchObject({ status: 'FAILED', exitCode: null });
      await ssm.idle();
      // The cancellation's own (late) status event answers nothing.
      expect(ssm.invocations.find((i) => commandRuns.get(i.commandId) === 'offline-run')?.status).toBe('Cancelled');
    } finally {
      delete process.env.STEP_TIMEOUT_CAP_SECONDS;
    }
  });

  it('an answer that reached a task no longer waiting is handed to the retry from DynamoDB', async () => {
    ssm.inject({ nodeId: 'core-1', step: 'self-update', times: 1, kind: 'lost-event' });
    const first = await attempt('stale-run', 'self-update', 'core-1');
    await ssm.idle();
    // The first attempt's task timed out: its token is dead when the late event arrives.
    const late = events.length;
    const staleToken = (await store().getCommand([...commandRuns].find(([, r]) => r === 'stale-run')?.[0] ?? ''))?.taskToken ?? '';
    tokens.expire(staleToken);
    void first.answer.catch(() => undefined);
    const inv = ssm.invocations.find((i) => commandRuns.get(i.commandId) === 'stale-run') as { commandId: string; instanceId: string };
    const event = {
      ...(events[late - 1] as CommandStatusChange),
      detail: { ...(events[late - 1] as CommandStatusChange).detail, 'command-id': inv.commandId, 'instance-id': inv.instanceId, status: 'Success' },
    };
    await expect(commandFinished(event)).resolves.toEqual({ answered: false });
    const retry = await attempt('stale-run', 'self-update', 'core-1');
    expect(retry.served).toBe('stored-result');
    await expect(retry.answer).resolves.toMatchObject({ outcome: 'SUCCEEDED' });
    // A duplicate of the event, later still: nothing is answered twice.
    await expect(commandFinished(event)).resolves.toEqual({ answered: false });
    expect(stepsRun('stale-run', 'self-update')).toBe(1);
  });

  it('a status event whose output SSM cannot give hands its claim back: the next delivery answers the task', async () => {
    ssm.inject({ nodeId: 'dea-1', step: 'self-update', times: 1, kind: 'lost-event' });
    const first = await attempt('unread-run', 'self-update', 'dea-1');
    await ssm.idle();
    const inv = ssm.invocations.find((i) => commandRuns.get(i.commandId) === 'unread-run') as { commandId: string; instanceId: string };
    const event = statusEvent(inv.commandId, inv.instanceId);
    // GetCommandInvocation fails (here: asked for the wrong instance): the handler throws for EventBridge to retry.
    await expect(commandFinished({ ...event, detail: { ...event.detail, 'instance-id': 'core-1' } })).rejects.toThrow();
    await expect(store().getCommand(inv.commandId)).resolves.toMatchObject({ state: 'PENDING' });
    await expect(commandFinished(event)).resolves.toEqual({ answered: true });
    await expect(first.answer).resolves.toMatchObject({ outcome: 'SUCCEEDED', step: 'self-update' });
    await expect(store().getCommand(inv.commandId)).resolves.toMatchObject({ state: 'ANSWERED' });
  });

  it('a status event that arrives before run-step recorded the command waits for the record and answers it', async () => {
    // SendCommand went through and the command ended at once; run-step records it only afterwards.
    ssm.inject({ nodeId: 'dea-1', step: 'self-update', times: 1, kind: 'lost-event' });
    const startedAt = new Date();
    await expect(
      store().startCheckpoint('early-run', {
        nodeId: 'dea-1',
        step: 'self-update',
        status: 'RUNNING',
        exitCode: null,
        warnings: [],
        startedAt: startedAt.toISOString(),
      }),
    ).resolves.toBeNull();
    const sent = await new SsmCommandRunner(ssmClient(), 'test-doc').send('dea-1', {
      step: 'self-update',
      targetVersion: '3.1.0',
      artifactBaseUrl: 'http://127.0.0.1:1/artifacts',
      httpsProxy: '',
      runId: 'early-run',
      executionTimeout: '60',
    });
    await ssm.idle();
    const event = statusEvent(sent, 'dea-1');
    const token = tokens.mint();
    const answer = tokens.wait(token);
    const finished = commandFinished(event);
    await new Promise((resolve) => setTimeout(resolve, 120));
    await store().recordCommand({
      commandId: sent,
      taskToken: token,
      runId: 'early-run',
      cluster: 'handlers',
      nodeId: 'dea-1',
      step: 'self-update',
      targetVersion: '3.1.0',
      sentAt: startedAt.toISOString(),
      timeoutSeconds: 60,
      ttl: 0,
    });
    await expect(finished).resolves.toEqual({ answered: true });
    await expect(answer).resolves.toMatchObject({ outcome: 'SUCCEEDED' });
    // The final checkpoint kept the RUNNING checkpoint's start and points at the command.
    await expect(store().getCheckpoint('early-run', 'dea-1', 'self-update')).resolves.toMatchObject({
      status: 'SUCCEEDED',
      startedAt: startedAt.toISOString(),
      commandId: sent,
      timeoutSeconds: 60,
    });
  });

  it("a step's checkpoint: the first attempt writes RUNNING in one request, a later one reads what is there; the final write keeps start and earlier attempts", async () => {
    const running = {
      nodeId: 'dea-1',
      step: 'backup' as const,
      status: 'RUNNING' as const,
      exitCode: null,
      warnings: [],
      startedAt: '2026-11-24T10:00:00.000Z',
    };
    await expect(store().startCheckpoint('cp-run', running)).resolves.toBeNull();
    await store().putCheckpoint('cp-run', { ...running, earlierAttempts: [{ exitCode: 3, outputTail: 'disk full' }] });
    // A second start writes nothing and returns the checkpoint as it was.
    await expect(store().startCheckpoint('cp-run', { ...running, startedAt: '2026-11-24T11:00:00.000Z' })).resolves.toEqual({
      ...running,
      earlierAttempts: [{ exitCode: 3, outputTail: 'disk full' }],
    });
    await store().finishCheckpoint('cp-run', {
      nodeId: 'dea-1',
      step: 'backup',
      status: 'SUCCEEDED',
      exitCode: 0,
      warnings: ['w'],
      outputTail: 'ok',
      details: {},
      startedAt: '2026-11-24T12:00:00.000Z',
      finishedAt: '2026-11-24T12:00:01.000Z',
      commandId: 'c-1',
    });
    await expect(store().getCheckpoint('cp-run', 'dea-1', 'backup')).resolves.toMatchObject({
      nodeId: 'dea-1',
      step: 'backup',
      status: 'SUCCEEDED',
      exitCode: 0,
      warnings: ['w'],
      outputTail: 'ok',
      details: {},
      startedAt: '2026-11-24T10:00:00.000Z',
      finishedAt: '2026-11-24T12:00:01.000Z',
      commandId: 'c-1',
      earlierAttempts: [{ exitCode: 3, outputTail: 'disk full' }],
    });
  });

  it('a duplicate event delivered at once answers the task once', async () => {
    ssm.inject({ nodeId: 'dea-1', step: 'self-update', times: 1, kind: 'duplicate-event' });
    const before = events.length;
    const first = await attempt('dup-run', 'self-update', 'dea-1');
    await expect(first.answer).resolves.toMatchObject({ outcome: 'SUCCEEDED' });
    await ssm.idle();
    expect(events.length - before).toBe(2);
    await expect(store().getCommand([...commandRuns].find(([, r]) => r === 'dup-run')?.[0] ?? '')).resolves.toMatchObject({ state: 'ANSWERED' });
  });
});
