import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canaryEvidence, failedNodeEvidence, failedStep, healthEvidence, type PlannedFacts, type QuestionFacts } from '../../core/approval-evidence.js';
import { decidedByTimeout, latestOpenApproval } from '../../core/approval.js';
import type { StepId } from '../../core/steps.js';
import type { CheckpointStatus, NodeOutcome, StepCheckpoint } from '../../core/summary.js';

const now = new Date('2026-11-24T10:10:00.000Z');
const started = '2026-11-24T10:00:00.000Z';
const step = (s: StepId, status: CheckpointStatus, more: Partial<StepCheckpoint> = {}): StepCheckpoint => ({
  nodeId: 'dea-1',
  step: s,
  status,
  exitCode: status === 'FAILED' ? 3 : 0,
  warnings: [],
  startedAt: started,
  ...more,
});
const run = { runId: 'r1', cluster: 'c', targetVersion: '3.1.0', approvalTimeoutSeconds: 3600, onTimeout: 'rollback' as const };
const planned: PlannedFacts[] = [
  { nodeId: 'dea-1', roles: ['dea'], startedAt: started },
  { nodeId: 'dea-2', roles: ['dea'], startedAt: started },
  { nodeId: 'dea-3', roles: ['dea'], startedAt: started },
  { nodeId: 'core-1', roles: ['primary'] },
];
const upgraded = (nodeId: string): NodeOutcome => ({ nodeId, status: 'UPGRADED', from: '3.0.0', to: '3.1.0', at: started });
const question = (more: Partial<QuestionFacts> = {}): QuestionFacts => ({
  approvalId: 'a-1',
  run,
  nodeId: 'dea-1',
  planned,
  outcomes: [upgraded('dea-2')],
  now,
  ...more,
});

describe('the failed step a question is about', () => {
  it('is the step the state machine named, as its checkpoint says, when that checkpoint failed', () => {
    const failed = step('upgrade', 'FAILED', { outputTail: 'disk full' });
    expect(failedStep([step('backup', 'SUCCEEDED'), failed], { nodeId: 'dea-1', failedStep: 'upgrade' }, now.toISOString())).toEqual({
      checkpoint: failed,
      record: false,
    });
  });

  it('records a named step that never reported with the error the state machine caught, keeping its command and earlier attempts', () => {
    const running = step('restart', 'RUNNING', { commandId: 'cmd-1', earlierAttempts: [{ exitCode: 1, outputTail: 'first' }] });
    const caught = { nodeId: 'dea-1', failedStep: 'restart', error: { Error: 'States.Timeout', Cause: 'no result' } };
    expect(failedStep([running], caught, now.toISOString())).toEqual({
      record: true,
      checkpoint: {
        nodeId: 'dea-1',
        step: 'restart',
        status: 'FAILED',
        exitCode: null,
        warnings: [],
        outputTail: 'States.Timeout: no result',
        startedAt: started,
        finishedAt: now.toISOString(),
        commandId: 'cmd-1',
        earlierAttempts: [{ exitCode: 1, outputTail: 'first' }],
      },
    });
    expect(failedStep([], { nodeId: 'dea-1', failedStep: 'restart' }, now.toISOString())).toMatchObject({
      record: true,
      checkpoint: { outputTail: 'error: the step did not report a result', startedAt: now.toISOString() },
    });
  });

  it('without a (valid) name: the failed step that is not the rollback, else the one still running, recorded as it is', () => {
    const mine = [step('rollback', 'FAILED'), step('upgrade', 'FAILED'), step('restart', 'RUNNING')];
    expect(failedStep(mine, { nodeId: 'dea-1', failedStep: 'no-such-step' }, now.toISOString())).toEqual({ checkpoint: mine[1], record: false });
    expect(failedStep([step('restart', 'RUNNING')], { nodeId: 'dea-1' }, now.toISOString())).toMatchObject({
      checkpoint: { status: 'RUNNING' },
      record: false,
    });
  });
});

describe("a failed node's evidence", () => {
  it('shows the failed step and its output, the versions, the backup, and who waits', () => {
    const mine = [
      step('version-check', 'SUCCEEDED', { details: { version: '3.0.0' } }),
      step('backup', 'SUCCEEDED'),
      step('upgrade', 'FAILED', { outputTail: 'disk full' }),
    ];
    expect(failedNodeEvidence({ ...question({ enteredAt: '2026-11-24T10:09:00.000Z' }), mine, failed: mine[2] })).toEqual({
      approvalId: 'a-1',
      runId: 'r1',
      cluster: 'c',
      nodeId: 'dea-1',
      roles: ['dea'],
      failedStep: 'upgrade',
      exitCode: 3,
      outputTail: 'disk full',
      from: '3.0.0',
      to: '3.1.0',
      backupId: 'r1',
      upgraded: ['dea-2'],
      inFlight: ['dea-3'],
      held: ['core-1'],
      createdAt: now.toISOString(),
      expiresAt: '2026-11-24T11:09:00.000Z',
      onTimeout: 'rollback',
    });
  });

  it('says what the state machine caught when the step never finished, and no backup before one was taken', () => {
    const running = step('upgrade', 'RUNNING');
    const evidence = failedNodeEvidence({ ...question(), mine: [running], failed: running, error: { Error: 'States.Timeout' } });
    expect(evidence).toMatchObject({ outputTail: 'States.Timeout: the step did not finish in time', exitCode: 0, backupId: null, from: null });
    expect(failedNodeEvidence({ ...question(), mine: [], failed: undefined, error: { Error: 'Lambda.Unknown', Cause: 'crashed' } })).toMatchObject({
      failedStep: 'upgrade',
      exitCode: null,
      outputTail: 'crashed',
    });
  });
});

describe('the canary’s and a health alarm’s evidence', () => {
  it('canary: what was upgraded, every node not ended waits, abort on timeout', () => {
    expect(canaryEvidence(question({ nodeId: 'dea-2' }))).toMatchObject({
      kind: 'canary',
      nodeId: 'dea-2',
      failedStep: 'post-upgrade-validation',
      from: null,
      upgraded: ['dea-2'],
      inFlight: [],
      held: ['dea-1', 'dea-3', 'core-1'],
      onTimeout: 'abort',
    });
  });

  it('health: the alarms and the nodes changed since the gate passed; the asking node waits with the held ones', () => {
    const health = { alarms: [{ name: 'errors', reason: 'Threshold crossed' }], changedSince: ['dea-2'] };
    expect(healthEvidence({ ...question({ nodeId: 'dea-3' }), health })).toMatchObject({
      kind: 'health',
      inFlight: ['dea-1'],
      held: ['dea-3', 'core-1'],
      alarms: health.alarms,
      changedSince: ['dea-2'],
      onTimeout: 'abort',
    });
    expect(healthEvidence({ ...question(), health: null })).toMatchObject({ alarms: [], changedSince: [] });
  });
});

describe('who waits while the operator decides', () => {
  const drawn = fc
    .array(fc.record({ started: fc.boolean(), ended: fc.boolean() }), { minLength: 1, maxLength: 20 })
    .chain((nodes) => fc.tuple(fc.constant(nodes.map((n, i) => ({ ...n, nodeId: `n${i}` }))), fc.nat(nodes.length - 1)));

  it('every node of the run that has not ended, but the one asked about, is either in flight or held, never both', () => {
    fc.assert(
      fc.property(drawn, ([nodes, asking]) => {
        const plan = nodes.map((n) => ({ nodeId: n.nodeId, roles: ['dea'], ...(n.started ? { startedAt: started } : {}) }));
        const outcomes = nodes.filter((n) => n.ended).map((n) => upgraded(n.nodeId));
        const asked = `n${asking}`;
        const open = nodes.filter((n) => !n.ended && n.nodeId !== asked).map((n) => n.nodeId);
        const evidence = failedNodeEvidence({ ...question({ nodeId: asked, planned: plan, outcomes }), mine: [], failed: undefined });
        expect([...(evidence.inFlight ?? []), ...(evidence.held ?? [])].sort()).toEqual([...open].sort());
        expect((evidence.inFlight ?? []).filter((id) => evidence.held?.includes(id))).toEqual([]);
        const health = healthEvidence({ ...question({ nodeId: asked, planned: plan, outcomes }), health: null });
        const openWithAsker = nodes.filter((n) => !n.ended).map((n) => n.nodeId);
        expect([...(health.inFlight ?? []), ...(health.held ?? [])].sort()).toEqual([...openWithAsker].sort());
        expect(health.inFlight).not.toContain(asked);
      }),
    );
  });

  it('the evidence never shows a version the node did not report', () => {
    fc.assert(
      fc.property(fc.option(fc.oneof(fc.string(), fc.integer()), { nil: undefined }), (version) => {
        const mine = version === undefined ? [] : [step('version-check', 'SUCCEEDED', { details: { version } })];
        expect(failedNodeEvidence({ ...question(), mine, failed: undefined }).from).toBe(typeof version === 'string' ? version : null);
      }),
    );
  });
});

describe('no decision in time', () => {
  it('applies the given decision, recorded as decided by timeout', () => {
    expect(decidedByTimeout('rollback', now)).toEqual({ decision: 'rollback', decidedBy: 'timeout', decidedAt: now.toISOString(), byTimeout: true });
  });

  it("closes the latest question still open about this node of this run, and no other run's", () => {
    const pending = [
      { approvalId: 'a', runId: 'r1', nodeId: 'dea-1' },
      { approvalId: 'b', runId: 'r2', nodeId: 'dea-1' },
      { approvalId: 'c', runId: 'r1', nodeId: 'dea-1' },
      { approvalId: 'd', runId: 'r1', nodeId: 'dea-2' },
    ];
    expect(latestOpenApproval(pending, 'r1', 'dea-1')?.approvalId).toBe('c');
    expect(latestOpenApproval(pending, 'r3', 'dea-1')).toBeUndefined();
  });
});
