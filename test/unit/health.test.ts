import { describe, expect, it } from 'vitest';
import { alarmsFiring, healthGate, healthKeepsHeld, healthReport, nodesChangedSince, type HealthState } from '../../core/health.js';
import { healthRequestEmail } from '../../core/health-email.js';
import { offeredDecisions } from '../../core/approval.js';
import { parseInput } from '../../core/input-schema.js';
import { runContext } from '../../core/run-context.js';

const state = (more: Partial<HealthState> = {}): HealthState => ({ alarms: [], changedSince: [], acknowledged: [], ...more });

describe('health gates (core rules)', () => {
  it('finds the named alarms in ALARM with their reason; OK and INSUFFICIENT_DATA pass', () => {
    const described = {
      metric: [
        { name: 'api-5xx', state: 'ALARM', reason: 'Threshold Crossed: 3 datapoints > 5' },
        { name: 'latency', state: 'OK' },
      ],
      composite: [{ name: 'service', state: 'INSUFFICIENT_DATA' }],
    };
    expect(alarmsFiring(described, ['api-5xx', 'latency', 'service'])).toEqual([{ name: 'api-5xx', reason: 'Threshold Crossed: 3 datapoints > 5' }]);
  });

  it('an alarm name that does not exist fails the gate (a typo cannot pass silently)', () => {
    expect(alarmsFiring({ metric: [{ name: 'api-5xx', state: 'OK' }], composite: [] }, ['api-5xxx'])).toEqual([
      { name: 'api-5xxx', reason: expect.stringContaining('no such alarm') as string },
    ]);
  });

  it('goes when nothing fires, asks when an alarm fires, holds while the question is open, stops after abort', () => {
    const firing = [{ name: 'api-5xx', reason: 'r' }];
    expect(healthGate(null, [])).toEqual({ kind: 'go' });
    expect(healthGate(null, firing)).toEqual({ kind: 'ask', alarms: firing });
    expect(healthGate(state({ askedBy: 'dea-1', alarms: firing }), firing)).toEqual({ kind: 'held', waitingFor: ['dea-1'] });
    expect(healthGate(state({ askedBy: 'dea-1', decision: 'abort' }), [])).toEqual({ kind: 'stop' });
  });

  it('after continue, the alarms continued past no longer stop the run; a new one asks again', () => {
    const decided = state({ askedBy: 'dea-1', decision: 'continue', acknowledged: ['api-5xx'] });
    expect(healthGate(decided, [{ name: 'api-5xx', reason: 'r' }])).toEqual({ kind: 'go' });
    expect(
      healthGate(decided, [
        { name: 'api-5xx', reason: 'r' },
        { name: 'latency', reason: 'l' },
      ]),
    ).toEqual({ kind: 'ask', alarms: [{ name: 'latency', reason: 'l' }] });
  });

  it('held nodes stay held while the question is open, unless the run stops', () => {
    expect(healthKeepsHeld(state({ askedBy: 'dea-1' }), false)).toBe(true);
    expect(healthKeepsHeld(state({ askedBy: 'dea-1' }), true)).toBe(false);
    expect(healthKeepsHeld(state({ askedBy: 'dea-1', decision: 'continue' }), false)).toBe(false);
    expect(healthKeepsHeld(null, false)).toBe(false);
  });

  it('the evidence names the nodes changed since the gate last passed', () => {
    const outcomes = [
      { nodeId: 'dea-1', status: 'UPGRADED', at: '2026-11-30T01:00:00Z' },
      { nodeId: 'dea-2', status: 'UPGRADED', at: '2026-11-30T01:05:00Z' },
      { nodeId: 'dea-3', status: 'SKIPPED', at: '2026-11-30T01:06:00Z' },
    ];
    expect(nodesChangedSince('2026-11-30T01:02:00Z', outcomes)).toEqual(['dea-2']);
    expect(nodesChangedSince(undefined, outcomes)).toEqual(['dea-1', 'dea-2']);
  });

  it('offers continue and abort, and the email quotes the alarm and its reason', () => {
    expect(offeredDecisions({ kind: 'health' })).toEqual(['continue', 'abort']);
    const email = healthRequestEmail(
      {
        kind: 'health',
        approvalId: 'a1b2c3d4',
        runId: 'r1',
        cluster: 'c1',
        nodeId: 'dea-1',
        roles: ['dea'],
        failedStep: 'post-upgrade-validation',
        exitCode: null,
        outputTail: '',
        from: null,
        to: '3.1.0',
        backupId: null,
        upgraded: ['dea-1'],
        held: ['dea-2'],
        alarms: [{ name: 'api-5xx', reason: 'Threshold Crossed' }],
        changedSince: ['dea-1'],
        createdAt: '2026-11-30T01:00:00Z',
        expiresAt: '2026-11-30T02:00:00Z',
        onTimeout: 'abort',
      },
      { link: null },
    );
    expect(email.subject).toContain('api-5xx');
    expect(email.message).toContain('Threshold Crossed');
    expect(email.message).toContain('Nodes changed since the gate last passed: dea-1');
    expect(email.message).toContain('fleet-upgrade decide a1b2c3d4 continue|abort');
  });

  it('the summary reports the alarms watched, the last that fired and the decision', () => {
    expect(healthReport(['api-5xx'], null)).toEqual({ alarms: ['api-5xx'] });
    expect(healthReport(['api-5xx'], { ...state({ alarms: [{ name: 'api-5xx', reason: 'r' }], decision: 'abort' }), decidedBy: 'bob' })).toEqual({
      alarms: ['api-5xx'],
      firing: [{ name: 'api-5xx', reason: 'r' }],
      decision: 'abort',
      decidedBy: 'bob',
    });
  });
});

describe('health gate input', () => {
  const base = { cluster: 'c1', targetVersion: '3.1.0' };

  it('carries healthAlarms and bakeSeconds into the run context only when alarms are named', () => {
    expect(runContext(parseInput(base), 'r1', '2026-11-30T00:00:00Z')).not.toHaveProperty('healthAlarms');
    const run = runContext(parseInput({ ...base, healthAlarms: ['api-5xx'], bakeSeconds: 60 }), 'r1', '2026-11-30T00:00:00Z');
    expect(run).toMatchObject({ healthAlarms: ['api-5xx'], bakeSeconds: 60 });
  });

  it('refuses bad alarm names, too many alarms, a bake out of range, and a bake with nothing to watch', () => {
    expect(() => parseInput({ ...base, healthAlarms: [''] })).toThrow(/healthAlarms\[0\]/);
    expect(() => parseInput({ ...base, healthAlarms: ['bad\nname'] })).toThrow(/alarm name/);
    expect(() => parseInput({ ...base, healthAlarms: Array.from({ length: 101 }, (_, i) => `a${i}`) })).toThrow(/at most 100/);
    expect(() => parseInput({ ...base, healthAlarms: ['a'], bakeSeconds: 3601 })).toThrow(/bakeSeconds/);
    expect(() => parseInput({ ...base, bakeSeconds: 30 })).toThrow(/only with healthAlarms/);
  });
});

describe("a health question's reminder", () => {
  it("names the alarm and offers continue or abort, not a failed node's four", async () => {
    const { approvalReminderEmail } = await import('../../core/approval-email.js');
    const email = approvalReminderEmail(
      {
        kind: 'health',
        approvalId: 'a1b2c3d4',
        runId: 'r1',
        cluster: 'c1',
        nodeId: 'dea-1',
        roles: ['dea'],
        failedStep: 'post-upgrade-validation',
        exitCode: null,
        outputTail: '',
        from: null,
        to: '3.1.0',
        backupId: null,
        upgraded: ['dea-1'],
        held: ['dea-2'],
        alarms: [{ name: 'api-5xx', reason: 'Threshold Crossed' }],
        createdAt: '2026-11-30T01:00:00Z',
        expiresAt: '2026-11-30T02:00:00Z',
        onTimeout: 'abort',
      },
      'fresh-link',
      { link: null },
    );
    expect(email.message).toContain('Health alarm api-5xx fired');
    expect(email.message).toContain('fleet-upgrade decide a1b2c3d4 continue|abort');
    expect(email.message).not.toContain('rollback:');
  });
});
