import { mkdtempSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { startLocalSsm, type LocalSsm, type CommandStatusChange } from '../../local/ssm-endpoint.js';
import { LocalTaskTokens } from '../../local/task-tokens.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, resetClients, ssmClient } from '../../adapters/aws-clients.js';
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
import { handler as requestApproval } from '../../lambdas/request-approval/index.js';
import { handler as cleanUpRun } from '../../lambdas/clean-up-run/index.js';
import type { ExecutionStatusChangeEvent } from '../../core/execution-status.js';
import { buildSummary, type RunInfo } from '../../core/summary.js';
import type { StepId } from '../../core/steps.js';
import { startLocalSns } from '../../local/sns-endpoint.js';
import { clusterInstances, startLocalTagging } from '../../local/tagging-endpoint.js';
import type { JsonProtocolServer } from '../../local/json-protocol.js';
import { localTable } from '../support/dynamodb.js';

let dynamodb: LocalDynamoDb;
let ssm: LocalSsm;
let tagging: JsonProtocolServer;
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
          // A rollback that takes a moment, for the cleanup that runs out of time.
          "case '{{ runId }}' in stopped-run-slow) [ \"$step\" = rollback ] && sleep 1 ;; esac",
          'case "$step" in',
          '  version-check) echo "checking"; echo \'{"version":"3.0.0"}\' ;;',
          '  download) echo "curl: (22) 404 Not Found" >&2; exit 4 ;;',
          // More than GetCommandInvocation returns (24,000 characters), the result line last.
          '  pre-upgrade-validation) i=0; while [ $i -lt 2000 ]; do echo "checking item $i of 2000"; i=$((i+1)); done; echo \'{"checked":2000}\' ;;',
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
  // The listed nodes carry the cluster's tag, as the plan checks.
  tagging = await startLocalTagging(clusterInstances('handlers', nodes));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: tagging.endpoint,
    AWS_ENDPOINT_URL_SSM: ssm.endpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: ssm.logsEndpoint,
    AWS_ENDPOINT_URL_SFN: await tokens.start(),
    DOCUMENT_NAME: 'test-doc',
    COMMAND_OUTPUT_LOG_GROUP: 'test-command-output',
    ARTIFACT_BASE_URL: 'http://127.0.0.1:1/artifacts',
  });
  resetClients();
});

afterAll(async () => {
  await tagging?.close();
  await ssm?.close();
  await tokens.close();
  await dynamodb?.stop();
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

  it('a step whose output GetCommandInvocation cuts off is read to its end from the command\'s CloudWatch log stream', async () => {
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
    await expect(recordNode({ action: 'gate', node: { id: 'core-1' }, run: held })).resolves.toMatchObject({ go: false, reason: expect.stringContaining('no longer held by this run') });
  });

  it('a run waiting for a decision holds the lock until the approval expires, plus the usual hold', async () => {
    const sns = await startLocalSns(() => undefined);
    const saved = { endpoint: process.env.AWS_ENDPOINT_URL_SNS, topic: process.env.TOPIC_ARN };
    Object.assign(process.env, { AWS_ENDPOINT_URL_SNS: sns.endpoint, TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:fleet-upgrade-test' });
    resetClients();
    try {
      // Approvals may wait far longer than the lock's 12 h hold: 3 days here.
      const waiting = runContext(parseInput({ cluster: 'waiting', targetVersion: '3.1.0', nodes, approval: { timeoutMinutes: 3 * 24 * 60 } }), 'waiting-run', '2026-11-24T10:00:00.000Z');
      await store().acquireLock('waiting', waiting.runId, new Date(), 43_200);
      const asked = await requestApproval({ action: 'ask', taskToken: 'token-of-the-waiting-task', node: { id: 'dea-1' }, run: waiting, failedStep: 'upgrade', error: { Error: 'StepFailed', Cause: 'injected' } });
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
      for (const [name, value] of [['AWS_ENDPOINT_URL_SNS', saved.endpoint], ['TOPIC_ARN', saved.topic]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      resetClients();
      await sns.close();
    }
  });
});

describe('lost, late and duplicate status events; retried steps never run a step twice', () => {
  const runOf = (id: string) => runContext(input, id, '2026-11-24T10:00:00.000Z');
  const stepsRun = (runId: string, step: string) => ssm.invocations.filter((i) => i.step === step && i.commandId !== '' && commandRuns.get(i.commandId) === runId).length;
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
    version: '0', id: `event-${commandId}`, 'detail-type': 'EC2 Command Invocation Status-change Notification', source: 'aws.ssm', account: '123456789012',
    time: new Date().toISOString(), region: 'us-east-1', resources: [],
    detail: { 'command-id': commandId, 'document-name': 'test-doc', 'instance-id': instanceId, 'requested-date-time': new Date().toISOString(), status: 'Success' },
  });

  it('a lost event: the timed-out task\'s retry reconciles with GetCommandInvocation, and the node ran the step once', async () => {
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
    await store().putCheckpoint('crash-run', { nodeId: 'core-1', step: 'self-update', status: 'RUNNING', exitCode: null, warnings: [], startedAt: new Date().toISOString() });
    const sent = await new SsmCommandRunner(ssmClient(), 'test-doc').send('core-1', { step: 'self-update', targetVersion: '3.1.0', artifactBaseUrl: 'http://127.0.0.1:1/artifacts', httpsProxy: '', runId: 'crash-run', executionTimeout: '60' });
    // Its status event came while nobody knew the command: command-finished ignored it (as in AWS).
    await ssm.idle();
    const retry = await attempt('crash-run', 'self-update', 'core-1');
    expect(retry.served).toBe('reconciled');
    await expect(retry.answer).resolves.toMatchObject({ outcome: 'SUCCEEDED', step: 'self-update' });
    expect(ssm.invocations.filter((i) => i.comment === commandComment('crash-run', 'self-update')).map((i) => i.commandId)).toEqual([sent]);
    await expect(store().getCheckpoint('crash-run', 'core-1', 'self-update')).resolves.toMatchObject({ status: 'SUCCEEDED', commandId: sent });
  });

  it('an operator\'s retry that crashed before sending sends the step again (the answered command was the earlier attempt\'s)', async () => {
    const first = await attempt('again-run', 'self-update', 'core-1');
    await expect(first.answer).resolves.toMatchObject({ outcome: 'SUCCEEDED' });
    await store().putCheckpoint('again-run', { nodeId: 'core-1', step: 'self-update', status: 'RUNNING', exitCode: null, warnings: [], startedAt: new Date().toISOString() });
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
    const event = { ...(events[late - 1] as CommandStatusChange), detail: { ...(events[late - 1] as CommandStatusChange).detail, 'command-id': inv.commandId, 'instance-id': inv.instanceId, status: 'Success' } };
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
    await expect(store().startCheckpoint('early-run', { nodeId: 'dea-1', step: 'self-update', status: 'RUNNING', exitCode: null, warnings: [], startedAt: startedAt.toISOString() })).resolves.toBeNull();
    const sent = await new SsmCommandRunner(ssmClient(), 'test-doc').send('dea-1', { step: 'self-update', targetVersion: '3.1.0', artifactBaseUrl: 'http://127.0.0.1:1/artifacts', httpsProxy: '', runId: 'early-run', executionTimeout: '60' });
    await ssm.idle();
    const event = statusEvent(sent, 'dea-1');
    const token = tokens.mint();
    const answer = tokens.wait(token);
    const finished = commandFinished(event);
    await new Promise((resolve) => setTimeout(resolve, 120));
    await store().recordCommand({ commandId: sent, taskToken: token, runId: 'early-run', cluster: 'handlers', nodeId: 'dea-1', step: 'self-update', targetVersion: '3.1.0', sentAt: startedAt.toISOString(), timeoutSeconds: 60, ttl: 0 });
    await expect(finished).resolves.toEqual({ answered: true });
    await expect(answer).resolves.toMatchObject({ outcome: 'SUCCEEDED' });
    // The final checkpoint kept the RUNNING checkpoint's start and points at the command.
    await expect(store().getCheckpoint('early-run', 'dea-1', 'self-update')).resolves.toMatchObject({ status: 'SUCCEEDED', startedAt: startedAt.toISOString(), commandId: sent, timeoutSeconds: 60 });
  });

  it('a step\'s checkpoint: the first attempt writes RUNNING in one request, a later one reads what is there; the final write keeps start and earlier attempts', async () => {
    const running = { nodeId: 'dea-1', step: 'backup' as const, status: 'RUNNING' as const, exitCode: null, warnings: [], startedAt: '2026-11-24T10:00:00.000Z' };
    await expect(store().startCheckpoint('cp-run', running)).resolves.toBeNull();
    await store().putCheckpoint('cp-run', { ...running, earlierAttempts: [{ exitCode: 3, outputTail: 'disk full' }] });
    // A second start writes nothing and returns the checkpoint as it was.
    await expect(store().startCheckpoint('cp-run', { ...running, startedAt: '2026-11-24T11:00:00.000Z' })).resolves.toEqual({ ...running, earlierAttempts: [{ exitCode: 3, outputTail: 'disk full' }] });
    await store().finishCheckpoint('cp-run', { nodeId: 'dea-1', step: 'backup', status: 'SUCCEEDED', exitCode: 0, warnings: ['w'], outputTail: 'ok', details: {}, startedAt: '2026-11-24T12:00:00.000Z', finishedAt: '2026-11-24T12:00:01.000Z', commandId: 'c-1' });
    await expect(store().getCheckpoint('cp-run', 'dea-1', 'backup')).resolves.toMatchObject({
      nodeId: 'dea-1', step: 'backup', status: 'SUCCEEDED', exitCode: 0, warnings: ['w'], outputTail: 'ok', details: {},
      startedAt: '2026-11-24T10:00:00.000Z', finishedAt: '2026-11-24T12:00:01.000Z', commandId: 'c-1', earlierAttempts: [{ exitCode: 3, outputTail: 'disk full' }],
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

  it('a held node waits until the failed node\'s outcome is recorded (retry succeeded), then may start; the wait is recorded', async () => {
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
    await recordNode({ action: 'rolledBack', node: { id: 'dea-1' }, run: r, approval: { decision: 'skip', decidedBy: 'test', decidedAt: new Date().toISOString(), byTimeout: false } });
    await expect(within(answer)).resolves.toBe('waiting');
    await recordNode({ action: 'rolledBack', node: { id: 'dea-2' }, run: r, approval: { decision: 'rollback', decidedBy: 'test', decidedAt: new Date().toISOString(), byTimeout: false } });
    await expect(within(answer, 5_000)).resolves.toEqual({ released: true });
    await expect(recordNode({ action: 'gate', node: { id: 'core-1' }, run: r })).resolves.toEqual({ go: false, reason: expect.stringContaining('rollback decided for dea-2') });
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
    runId, cluster: 'handlers', targetVersion: '3.1.0', coreNode: 'core-1', order: ['core-1', 'dea-1'],
    roles: { 'core-1': ['primary'], 'dea-1': ['dea'] }, plannedFrom: { 'core-1': '3.0.0', 'dea-1': '3.0.0' }, startedAt: '2026-11-24T10:00:00.000Z',
  });
  const checkpoint = (step: StepId, status: 'SUCCEEDED' | 'RUNNING' = 'SUCCEEDED') => ({
    nodeId: 'core-1', step, status, exitCode: status === 'SUCCEEDED' ? 0 : null, warnings: [], startedAt: new Date().toISOString(),
    ...(status === 'SUCCEEDED' ? { finishedAt: new Date().toISOString() } : {}),
  });
  const failedEvent = (runId: string): ExecutionStatusChangeEvent => ({
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    detail: {
      executionArn: `arn:aws:states:us-east-1:123456789012:execution:machine:${runId}`, name: runId, status: 'FAILED',
      input: JSON.stringify({ cluster: 'handlers', targetVersion: '3.1.0' }), error: 'States.DataLimitExceeded', cause: 'The state/task returned a result with a size exceeding the maximum number of bytes service limit.',
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
    expect(recorded?.summary).toMatchObject({ status: 'FAILED', lockReleased: true, failure: { error: 'States.DataLimitExceeded', message: expect.stringContaining('the execution failed with States.DataLimitExceeded') } });
    // Invoked again (a retried invocation): it finds the summary and sends nothing.
    await expect(cleanUpRun(failedEvent('failed-run-1'))).resolves.toMatchObject({ done: true, rolledBack: [], maintenanceOff: 'not-needed', lockReleased: true });
    expect(sent('failed-run-1', 'maintenance-off')).toBe(1);
    expect((await store().getRun('handlers', 'failed-run-1'))?.summary).toEqual(recorded?.summary);
  });

  it('the run\'s own failure path finished: nothing is sent, the summary stays, and a lock another run took since stays with it', async () => {
    await upgradedThenFailed('failed-run-2');
    // What the failure path did: maintenance mode off, lock released, summary recorded; then another run locked the cluster.
    await store().putCheckpoint('failed-run-2', checkpoint('maintenance-off'));
    await store().releaseLock('handlers', 'failed-run-2');
    const { checkpoints, outcomes } = await store().runRecords('failed-run-2');
    const summary = buildSummary({ run: failedRun('failed-run-2'), checkpoints, outcomes, lockReleased: true, caught: { Error: 'StepFailed', Cause: 'maintenance-off' }, finishedAt: new Date().toISOString() });
    await store().completeRun(summary);
    await store().acquireLock('handlers', 'next-run', new Date(), 3600);
    try {
      await expect(cleanUpRun(failedEvent('failed-run-2'))).resolves.toEqual({ done: true, cluster: 'handlers', rolledBack: [], maintenanceOff: 'not-needed', lockReleased: false });
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
    await expect(cleanUpRun(failedEvent('failed-run-3'))).resolves.toMatchObject({ done: true, rolledBack: [], maintenanceOff: 'not-needed', lockReleased: true });
    expect(sent('failed-run-3', 'maintenance-off')).toBe(0);
    await expect(store().getRun('handlers', 'failed-run-3')).resolves.toMatchObject({ status: 'FAILED', summary: { maintenanceMode: { disabledAt: expect.any(String) } } });
  });

  it('a step whose command must have ended long ago (its own time bound passed) is not waited for: invocation after invocation would wait forever', async () => {
    const runId = 'stopped-run-stale';
    await store().putRun(failedRun(runId));
    await store().acquireLock('handlers', runId, new Date(), 3600);
    // The run-step that started dea-1's upgrade died before recording anything more, three hours ago.
    await store().putCheckpoint(runId, { ...checkpoint('upgrade', 'RUNNING'), nodeId: 'dea-1', startedAt: new Date(Date.now() - 3 * 3600_000).toISOString(), timeoutSeconds: 600 });
    const stopped = { ...failedEvent(runId), detail: { ...failedEvent(runId).detail, status: 'ABORTED', error: 'StoppedByOperator' } };
    await expect(cleanUpRun(stopped, { getRemainingTimeInMillis: () => 400_000 })).resolves.toMatchObject({ done: true, rolledBack: [{ nodeId: 'dea-1', outcome: 'SUCCEEDED' }], lockReleased: true });
    expect(sent(runId, 'rollback')).toBe(1);
  }, 20_000);

  it('a cleanup that runs out of its invocation\'s time says it is not done, and the next invocation waits for the rollback already sent instead of sending another', async () => {
    const runId = 'stopped-run-slow';
    await store().putRun(failedRun(runId));
    await store().acquireLock('handlers', runId, new Date(), 3600);
    // dea-1 was caught between its upgrade and its outcome: it is rolled back.
    await store().putCheckpoint(runId, { ...checkpoint('upgrade'), nodeId: 'dea-1' });
    const stopped = { ...failedEvent(runId), detail: { ...failedEvent(runId).detail, status: 'ABORTED', error: 'StoppedByOperator' } };
    // Lambda's context: 20 s left, under the margin the cleanup keeps to record its progress.
    await expect(cleanUpRun(stopped, { getRemainingTimeInMillis: () => 20_000 })).resolves.toMatchObject({ done: false, waitingFor: expect.stringContaining('rollback on dea-1') });
    expect(sent(runId, 'rollback')).toBe(1);
    await expect(store().getCheckpoint(runId, 'dea-1', 'rollback')).resolves.toMatchObject({ status: 'RUNNING', commandId: expect.any(String) });
    // The cleanup state machine invokes it again: it takes the command over and finishes the cleanup.
    await expect(cleanUpRun(stopped, { getRemainingTimeInMillis: () => 400_000 })).resolves.toMatchObject({ done: true, rolledBack: [{ nodeId: 'dea-1', outcome: 'SUCCEEDED' }], lockReleased: true });
    expect(sent(runId, 'rollback')).toBe(1);
  });
});

/** The run id a command's comment names (`fleet-upgrade <step> <runId>`). */
function commandRuns(comment: string | undefined): string | undefined {
  return comment?.split(' ')[2];
}
