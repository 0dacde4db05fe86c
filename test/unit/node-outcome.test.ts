import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nodeOutcome, stopReason, type OutcomeAction, type OutcomeFacts } from '../../core/node-outcome.js';
import type { ApprovalDecision } from '../../core/approval.js';
import { STEP_IDS, type StepId } from '../../core/steps.js';
import type { CheckpointStatus, NodeOutcome, StepCheckpoint } from '../../core/summary.js';

const at = '2026-11-24T10:05:00.000Z';
const step = (s: StepId, status: CheckpointStatus, version?: string): StepCheckpoint => ({
  nodeId: 'dea-1',
  step: s,
  status,
  exitCode: status === 'FAILED' ? 1 : 0,
  warnings: [],
  startedAt: '2026-11-24T10:00:00.000Z',
  ...(version === undefined ? {} : { details: { version } }),
});
const facts = (action: OutcomeAction, checkpoints: StepCheckpoint[], more: Partial<OutcomeFacts> = {}): OutcomeFacts => ({
  action,
  nodeId: 'dea-1',
  checkpoints,
  targetVersion: '3.1.0',
  at,
  ...more,
});
const decided = (decision: ApprovalDecision['decision'], more: Partial<ApprovalDecision> = {}): ApprovalDecision => ({
  decision,
  decidedBy: 'alice@example.com',
  decidedAt: at,
  byTimeout: false,
  ...more,
});
const checked = step('version-check', 'SUCCEEDED', '3.0.0');

describe("a node's outcome", () => {
  it('upgraded: from the version it reported to the one post-upgrade validation saw, else the target', () => {
    expect(nodeOutcome(facts('upgraded', [checked, step('post-upgrade-validation', 'SUCCEEDED', '3.1.1')]))).toEqual({
      outcome: { nodeId: 'dea-1', status: 'UPGRADED', from: '3.0.0', to: '3.1.1', at },
    });
    expect(nodeOutcome(facts('upgraded', [checked])).outcome).toMatchObject({ from: '3.0.0', to: '3.1.0' });
  });

  it("takes the version from the state's version check first, and a resumed node's earlier version before both", () => {
    const versionCheck = { details: { version: '2.9.0' } };
    expect(nodeOutcome(facts('skipped', [checked], { versionCheck })).outcome).toMatchObject({ status: 'SKIPPED', from: '2.9.0', to: '2.9.0' });
    expect(nodeOutcome(facts('upgraded', [checked], { versionCheck, resumedFrom: '2.8.0' })).outcome.from).toBe('2.8.0');
    expect(nodeOutcome(facts('skipped', [])).outcome).toMatchObject({ from: null, to: null });
  });

  it('rolled back: where the rollback says the node is, with the decision and who made it', () => {
    const checkpoints = [checked, step('upgrade', 'FAILED'), step('rollback', 'SUCCEEDED', '3.0.1')];
    const identity = { issuer: 'https://id.example.com', subject: 'alice', email: 'alice@example.com' };
    expect(nodeOutcome(facts('rolledBack', checkpoints, { approval: decided('skip', { decidedIdentity: identity }) })).outcome).toEqual({
      nodeId: 'dea-1',
      status: 'ROLLED_BACK',
      from: '3.0.0',
      to: '3.0.1',
      at,
      failedStep: 'upgrade',
      decision: 'skip',
      decidedBy: 'alice@example.com',
      byTimeout: false,
      decidedIdentity: identity,
    });
    expect(nodeOutcome(facts('rolledBack', [checked, step('upgrade', 'FAILED')])).outcome.to).toBe('3.0.0');
  });

  it('needs attention: at its old version if the failed step changes nothing, else unknown; a retry or a canary continue is no decision', () => {
    const before = [checked, step('backup', 'FAILED')];
    expect(nodeOutcome(facts('needsAttention', before, { approval: decided('abort') })).outcome).toMatchObject({ to: '3.0.0', decision: 'abort' });
    expect(nodeOutcome(facts('needsAttention', before, { rollbackFailed: true })).outcome).toMatchObject({ to: null, rollbackFailed: true });
    expect(nodeOutcome(facts('needsAttention', [checked, step('restart', 'FAILED')])).outcome.to).toBeNull();
    expect(nodeOutcome(facts('needsAttention', before, { approval: decided('retry') })).outcome).not.toHaveProperty('decision');
    expect(nodeOutcome(facts('needsAttention', before, { approval: decided('continue') })).outcome).not.toHaveProperty('decision');
  });

  it('failed: a step still running timed out, so its checkpoint is to be written as failed with what the state machine caught', () => {
    const running = step('upgrade', 'RUNNING');
    const { outcome, stuck } = nodeOutcome(facts('failed', [checked, running], { error: { Error: 'States.Timeout', Cause: 'no heartbeat' } }));
    expect(outcome).toEqual({ nodeId: 'dea-1', status: 'FAILED', from: '3.0.0', to: null, at, failedStep: 'upgrade' });
    expect(stuck).toEqual({ ...running, status: 'FAILED', outputTail: 'States.Timeout: no heartbeat', finishedAt: at });
    const beforeTheWindow = nodeOutcome(facts('failed', [checked, step('download', 'FAILED')]));
    expect(beforeTheWindow).toEqual({ outcome: { nodeId: 'dea-1', status: 'FAILED', from: '3.0.0', to: '3.0.0', at, failedStep: 'download' } });
  });

  const version = fc.constantFrom('3.0.0', '3.0.1', '3.1.0', '3.2.0');
  const checkpoint = fc
    .record({
      step: fc.constantFrom(...STEP_IDS),
      status: fc.constantFrom<CheckpointStatus>('RUNNING', 'SUCCEEDED', 'FAILED'),
      version: fc.option(version, { nil: undefined }),
    })
    .map((c) => step(c.step, c.status, c.version));
  const drawnFacts = fc.record({
    action: fc.constantFrom<OutcomeAction>('upgraded', 'skipped', 'failed', 'rolledBack', 'needsAttention'),
    checkpoints: fc.array(checkpoint, { maxLength: 8 }),
    versionCheck: fc.option(
      version.map((v) => ({ details: { version: v } })),
      { nil: undefined },
    ),
    resumedFrom: fc.option(version, { nil: undefined }),
    approval: fc.option(
      fc.constantFrom<ApprovalDecision['decision']>('rollback', 'retry', 'skip', 'abort', 'continue').map((d) => decided(d)),
      { nil: undefined },
    ),
    rollbackFailed: fc.option(fc.boolean(), { nil: undefined }),
  });

  it('an outcome never reports a version the node was not at: to is its from, a version a step reported, the target once upgraded, or unknown', () => {
    fc.assert(
      fc.property(drawnFacts, (drawn) => {
        const { outcome } = nodeOutcome({ ...drawn, nodeId: 'dea-1', targetVersion: '9.9.9', at });
        const reported = drawn.checkpoints.flatMap((c) => (typeof c.details?.version === 'string' ? [c.details.version] : []));
        const seen = [outcome.from, ...reported, ...(outcome.status === 'UPGRADED' ? ['9.9.9'] : [])];
        expect(outcome.to === null || seen.includes(outcome.to)).toBe(true);
        expect(outcome.from === null || [drawn.resumedFrom, drawn.versionCheck?.details.version, ...reported].includes(outcome.from)).toBe(true);
        if (outcome.status === 'SKIPPED') expect(outcome.to).toBe(outcome.from);
        // A node whose failed step may have changed it is never said to be back at its old version.
        const mayHaveChanged = outcome.failedStep === 'upgrade' || outcome.failedStep === 'restart' || outcome.failedStep === 'post-upgrade-validation';
        if ((outcome.status === 'FAILED' || outcome.status === 'NEEDS_ATTENTION') && mayHaveChanged) expect(outcome.to).toBeNull();
      }),
    );
  });

  it('the rollout goes on only after an upgrade, a skip, or an operator’s skip, and says why it stops otherwise', () => {
    fc.assert(
      fc.property(drawnFacts, (drawn) => {
        const { outcome } = nodeOutcome({ ...drawn, nodeId: 'dea-1', targetVersion: '9.9.9', at });
        const goesOn = outcome.status === 'UPGRADED' || outcome.status === 'SKIPPED' || (outcome.status === 'ROLLED_BACK' && outcome.decision === 'skip');
        expect(stopReason(outcome) === null).toBe(goesOn);
      }),
    );
  });
});

describe('why the rollout stops', () => {
  const outcome = (more: Partial<NodeOutcome>): NodeOutcome => ({ nodeId: 'dea-1', status: 'FAILED', from: '3.0.0', to: null, at, ...more });

  it("names the operator's decision, or the node and what happened to it, and the failed step", () => {
    expect(stopReason(outcome({ status: 'ROLLED_BACK', decision: 'rollback', byTimeout: true, failedStep: 'upgrade' }))).toBe(
      'the run stopped: rollback decided by timeout for dea-1 after upgrade failed',
    );
    expect(stopReason(outcome({ status: 'NEEDS_ATTENTION', decision: 'abort', byTimeout: false }))).toBe('the run stopped: abort decided for dea-1');
    expect(stopReason(outcome({ status: 'NEEDS_ATTENTION' }))).toBe('the run stopped: dea-1 needs attention');
    expect(stopReason(outcome({ failedStep: 'restart' }))).toBe('the run stopped: dea-1 failed after restart failed');
    expect(stopReason(outcome({ status: 'ROLLED_BACK', decision: 'skip' }))).toBeNull();
  });
});
