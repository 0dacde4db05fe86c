import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { LocalTaskTokens } from '../../local/task-tokens.js';
import { LocalCleanupMachine } from '../../local/cleanup-machine.js';
import type { LocalIam } from '../../local/iam/local-iam.js';
import { localStackParts, synthesizeTemplate, type LocalStackParts } from '../../local/template.js';
import { startExecution, type LocalHandler } from '../../local/state-machine-runner.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, resetClients } from '../../adapters/aws-clients.js';
import { handler as runStopped } from '../../lambdas/run-stopped/index.js';
import { handler as cleanUpRun } from '../../lambdas/clean-up-run/index.js';
import type { ExecutionStatusChangeEvent } from '../../core/execution-status.js';
import { CLEAN_UP_STATE_NAME } from '../../lib/stopped-run-cleanup.js';
import { localTable } from '../support/dynamodb.js';

let dynamodb: LocalDynamoDb;
let parts: LocalStackParts;
const tokens = new LocalTaskTokens();
const store = () => new FleetStore(documentClient(), 'fleet-upgrade-test');
const cleanUpId = () => Object.entries(parts.handlers).find(([, name]) => name === 'clean-up-run')?.[0] ?? '';
// The IAM of the template is not what these tests are about (test/e2e/iam.test.ts is).
const noIam = { asStateMachine: () => undefined } as unknown as LocalIam;

beforeAll(async () => {
  mkdirSync('.tmp', { recursive: true });
  parts = localStackParts(await synthesizeTemplate(), () => ({}));
  dynamodb = await localTable();
  process.env.FLEET_UPGRADE_RETRY_INTERVAL_MS = '1';
}, 120_000);

afterAll(async () => {
  await tokens.close();
  await dynamodb?.stop();
});

/** Runs the synthesized cleanup definition with `cleanUp` as clean-up-run, its Wait shortened. */
async function runCleanup(cleanUp: LocalHandler) {
  const execution = startExecution({
    definition: parts.cleanup.definition,
    // The task invokes the function's ARN itself (payloadResponseOnly): its input is the payload, its result the function's.
    overrides: { [CLEAN_UP_STATE_NAME]: (input) => cleanUp(input) },
    input: { detail: { name: 'run-1', status: 'ABORTED' } },
    executionName: 'run-1',
    tokens,
    waitOverrides: { 'Then go on': 1 },
  });
  for await (const _event of execution.events);
  return execution.result;
}

describe('the cleanup state machine (synthesized definition)', () => {
  it('invokes clean-up-run again and again until it says it is done: a cleanup may take as long as its rollbacks take', async () => {
    const seen: unknown[] = [];
    const outcome = await runCleanup(async (event) => {
      seen.push(event);
      return seen.length < 3 ? { done: false, waitingFor: `rollback on dea-${seen.length}` } : { done: true };
    });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(seen).toHaveLength(3);
    // Each invocation gets the status change's detail, nothing it piled up before.
    expect(seen[2]).toEqual({ detail: { name: 'run-1', status: 'ABORTED' } });
  });

  it('a failed invocation is tried again (the cleanup is idempotent), and a lasting failure ends the cleanup FAILED', async () => {
    let calls = 0;
    const recovered = await runCleanup(async () => {
      calls += 1;
      if (calls < 3) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      return { done: true };
    });
    expect(recovered.status).toBe('SUCCEEDED');
    expect(calls).toBe(3);
    let attempts = 0;
    const failed = await runCleanup(async () => {
      attempts += 1;
      throw Object.assign(new Error('the table is gone'), { name: 'ResourceNotFoundException' });
    });
    expect(failed).toMatchObject({ status: 'FAILED', error: 'ResourceNotFoundException' });
    expect(attempts).toBe(13);
  });
});

describe('run-stopped starts one cleanup per run', () => {
  const started: string[] = [];
  const described: string[] = [];
  const machine = new LocalCleanupMachine();

  beforeAll(async () => {
    const handlers = new Map<string, LocalHandler>([
      [
        cleanUpId(),
        async (event) => {
          started.push((event as ExecutionStatusChangeEvent).detail.name);
          return { done: true };
        },
      ],
    ]);
    machine.attach({ parts, handlers, tokens, iam: noIam });
    process.env.AWS_ENDPOINT_URL_SFN = await tokens.start({
      StartExecution: (r) => machine.start(r),
      DescribeExecution: (r) => {
        described.push(String(r.executionArn));
        return { executionArn: r.executionArn, input: JSON.stringify({ cluster: 'handlers', targetVersion: '3.1.0' }) };
      },
    });
    process.env.CLEANUP_STATE_MACHINE_ARN = machine.arn;
    resetClients();
  });

  const event = (runId: string, status = 'ABORTED'): ExecutionStatusChangeEvent => ({
    detail: {
      executionArn: `arn:aws:states:us-east-1:000000000000:execution:FleetUpgrade:${runId}`,
      name: runId,
      status,
      input: JSON.stringify({ cluster: 'handlers', targetVersion: '3.1.0', nodes: [{ id: 'dea-1', roles: ['dea'] }] }),
    },
  });

  it('a stopped run that was planned: an execution named after the run, with the cluster only; a second delivery starts none', async () => {
    await store().putRun({
      runId: 'stopped-1',
      cluster: 'handlers',
      targetVersion: '3.1.0',
      coreNode: 'dea-1',
      order: ['dea-1'],
      roles: { 'dea-1': ['dea'] },
      plannedFrom: {},
      startedAt: new Date().toISOString(),
    });
    await expect(runStopped(event('stopped-1'))).resolves.toMatchObject({
      action: 'cleanup-started',
      cleanupExecutionArn: expect.stringMatching(/:execution:FleetUpgradeCleanup:stopped-1$/),
    });
    await machine.idle();
    await expect(runStopped(event('stopped-1'))).resolves.toMatchObject({ action: 'cleanup-already-started' });
    await machine.idle();
    expect(started).toEqual(['stopped-1']);
    expect(machine.statuses()).toEqual({ 'stopped-1': 'SUCCEEDED' });
  });

  // The status-change event leaves the input out past 248 KiB (escaped input and output):
  // https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html
  it('an event without the input (a large node list): the cluster is read from the execution, and the cleanup starts', async () => {
    await store().putRun({
      runId: 'stopped-big',
      cluster: 'handlers',
      targetVersion: '3.1.0',
      coreNode: 'dea-1',
      order: ['dea-1'],
      roles: { 'dea-1': ['dea'] },
      plannedFrom: {},
      startedAt: new Date().toISOString(),
    });
    const withoutInput = { detail: { ...event('stopped-big').detail, input: null } };
    await expect(runStopped(withoutInput)).resolves.toMatchObject({ cluster: 'handlers', action: 'cleanup-started' });
    await machine.idle();
    expect(described).toEqual([withoutInput.detail.executionArn]);
    expect(started).toContain('stopped-big');
  });

  it('a run its own failure path summarized, or one never planned: the lock is released, no cleanup starts', async () => {
    await store().acquireLock('handlers', 'never-planned', new Date(), 3600);
    await expect(runStopped(event('never-planned', 'TIMED_OUT'))).resolves.toEqual({ cluster: 'handlers', action: 'lock-released', lockReleased: true });
    await expect(runStopped(event('other', 'SUCCEEDED'))).resolves.toMatchObject({ action: 'nothing' });
    expect(started.filter((id) => id === 'never-planned' || id === 'other')).toEqual([]);
  });
});

describe('clean-up-run on a large run', () => {
  it('records a compacted summary (one DynamoDB item, 400 KB) and returns only its status (a state, 256 KiB)', { timeout: 120_000 }, async () => {
    Object.assign(process.env, {
      DOCUMENT_NAME: 'fleet-upgrade-runbook',
      COMMAND_OUTPUT_LOG_GROUP: 'command-output',
      ARTIFACT_BASE_URL: 'https://artifacts.example.com',
    });
    const ids = Array.from({ length: 1100 }, (_, i) => `i-${(0x0abc0000000000 + i).toString(16).padStart(17, '0')}`);
    const s = store();
    await s.putRun({
      runId: 'stopped-large',
      cluster: 'large',
      targetVersion: '3.1.0',
      coreNode: ids[0] ?? '',
      order: ids,
      roles: Object.fromEntries(ids.map((id) => [id, ['dea']])),
      plannedFrom: Object.fromEntries(ids.map((id) => [id, '3.0.0'])),
      startedAt: new Date().toISOString(),
    });
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(
        ids
          .slice(i, i + 50)
          .map((nodeId) =>
            s.recordOutcome('large', 'stopped-large', ['dea'], { nodeId, status: 'UPGRADED', from: '3.0.0', to: '3.1.0', at: new Date().toISOString() }),
          ),
      );
    }
    const result = await cleanUpRun({
      detail: {
        executionArn: 'arn:aws:states:us-east-1:000000000000:execution:FleetUpgrade:stopped-large',
        name: 'stopped-large',
        status: 'ABORTED',
        input: JSON.stringify({ cluster: 'large' }),
      },
    });
    expect(result).toMatchObject({ done: true, status: 'FAILED' });
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(2000);
    const recorded = await s.getRun('large', 'stopped-large');
    expect(recorded?.summary).toMatchObject({ status: 'FAILED', failure: { error: 'ExecutionAborted' } });
    // compactSummary's budget, well inside the item.
    expect(Buffer.byteLength(JSON.stringify(recorded?.summary))).toBeLessThanOrEqual(200_000);
  });
});
