import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { WatchView } from '../../cli/watch-view.js';
import { HELD_STATE_NAME } from '../../core/hold.js';
import { PAUSED_STATE_NAME } from '../../core/pause.js';
import { formatNodes, nodeRows } from '../../cli/fleet-records.js';
import { formatPlan } from '../../cli/plan.js';
import { parseConcurrency } from '../../cli/input-flags.js';
import { readableRunId } from '../../cli/start.js';
import { planUpgrade } from '../../core/plan.js';
import { parseInput } from '../../core/input-schema.js';

const T0 = Date.parse('2026-11-24T10:30:00Z');
let id = 0;
/** An event as GetExecutionHistory returns it from AWS (the SDK has already turned timestamps into Dates). */
function ev(type: string, seconds: number, details: Record<string, unknown> = {}, previousEventId?: number): HistoryEvent {
  id += 1;
  return { id, previousEventId: previousEventId ?? id - 1, timestamp: new Date(T0 + seconds * 1000), type, ...details } as HistoryEvent;
}
const entered = (type: string, name: string, input: unknown, s: number, prev?: number) =>
  ev(type, s, { stateEnteredEventDetails: { name, input: JSON.stringify(input) } }, prev);
const exited = (type: string, name: string, output: unknown, s: number, prev?: number) =>
  ev(type, s, { stateExitedEventDetails: { name, output: JSON.stringify(output) } }, prev);

describe('watch view (from the execution history alone)', () => {
  it("shows groups, each node's current step and elapsed time, warnings and failures; plain lines and a frame", () => {
    id = 0;
    const view = new WatchView();
    const run = { runId: 'r', cluster: 'prod-als' };
    view.add(ev('ExecutionStarted', 0, { executionStartedEventDetails: { input: JSON.stringify({ cluster: 'prod-als', targetVersion: '3.2.0' }) } }));
    view.add(entered('MapStateEntered', 'Upgrade nodes of the group', { group: { role: 'dea', nodes: [{ id: 'dea-1' }, { id: 'dea-2' }] }, run }, 1));
    const a = entered('TaskStateEntered', 'Download and verify', { node: { id: 'dea-1' }, run }, 2);
    view.add(a);
    view.add(ev('TaskScheduled', 2, {}, a.id));
    const b = entered('TaskStateEntered', 'Self-update', { node: { id: 'dea-2' }, run }, 2.5);
    view.add(b);
    // Events of concurrent iterations interleave; previousEventId ties each to its node.
    view.add(exited('TaskStateExited', 'Self-update', { node: { id: 'dea-2' }, lastStep: { warnings: ['disk 91% full'] } }, 3, b.id));
    const frame = view.frame(T0 + 4000, 0);
    expect(frame[0]).toBe('Upgrade of prod-als to 3.2.0 — RUNNING, 4.0s');
    expect(frame).toContain('  group dea (0/2)');
    expect(frame.find((l) => l.includes('dea-1'))).toMatch(/⠋ dea-1 +Download and verify 2\.0s/);
    expect(frame.find((l) => l.includes('dea-2'))).toMatch(/dea-2 +Self-update .*\(1 warning\)/);
    const fail = ev(
      'TaskFailed',
      5,
      {
        taskFailedEventDetails: {
          error: 'StepFailed',
          cause: JSON.stringify({ nodeId: 'dea-1', step: 'download', exitCode: 1, outputTail: 'fetching\nsha256 mismatch' }),
        },
      },
      (a.id ?? 0) + 1,
    );
    view.add(fail);
    view.add(ev('ExecutionFailed', 6, { executionFailedEventDetails: { error: 'StepFailed', cause: 'download failed on dea-1 (exit code 1)' } }));
    expect(view.take()).toEqual([
      'Upgrade of prod-als to 3.2.0 started 2026-11-24T10:30:00Z',
      '[   1.0s] group dea: dea-1, dea-2',
      '[   3.0s] dea-2          warning in Self-update: disk 91% full',
      '[   3.0s] dea-2          Self-update: ok in 0.5s',
      '[   5.0s] dea-1          Download and verify: FAILED after 3.0s — StepFailed (exit 1): sha256 mismatch',
      '[   6.0s] run FAILED — StepFailed: download failed on dea-1 (exit code 1)',
    ]);
    expect(view.status).toBe('FAILED');
    expect(view.frame(T0 + 7000).find((l) => l.includes('dea-1'))).toMatch(/✘ dea-1 +failed StepFailed/);
  });

  it("shows a node waiting for the operator's decision, then the decision, from a child execution's history", () => {
    id = 0;
    const view = new WatchView();
    const run = { runId: 'r', cluster: 'c' };
    view.add(ev('ExecutionStarted', 0, { executionStartedEventDetails: { input: JSON.stringify({ cluster: 'c', targetVersion: '2.0.0' }) } }));
    id = 0; // a child execution numbers its own events
    view.add(entered('MapStateEntered', 'Upgrade nodes of the group', { group: { role: 'dea', nodes: [{ id: 'dea-1' }] }, run }, 1), 'group-child');
    id = 0;
    const child = 'arn:aws:states:us-east-1:1:execution:FleetUpgrade/UpgradeNodes:x';
    view.add(ev('ExecutionStarted', 1, { executionStartedEventDetails: { input: '{}' } }), child);
    view.add(entered('TaskStateEntered', 'Upgrade', { node: { id: 'dea-1' }, run }, 1), child);
    view.add(
      entered('TaskStateEntered', 'Ask operator', { node: { id: 'dea-1' }, run: { ...run, approvalTimeoutSeconds: 3600, onTimeout: 'rollback' } }, 2),
      child,
    );
    expect(view.frame(T0 + 3000).find((l) => l.includes('dea-1'))).toMatch(/\? dea-1 +failed Upgrade, waiting for the operator's decision/);
    view.add(exited('TaskStateExited', 'Ask operator', { node: { id: 'dea-1' }, approval: { decision: 'rollback', decidedBy: 'ops@example.com' } }, 4), child);
    view.add(ev('ExecutionSucceeded', 5, { executionSucceededEventDetails: { output: 'null' } }), child);
    expect(view.status).toBe('RUNNING'); // a child's end is not the run's
    const lines = view.take();
    // The deadline, what the timeout decides, and how to decide from a terminal.
    expect(lines.find((l) => l.includes("dea-1          waiting for the operator's decision"))).toMatch(
      /decision until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(then rollback\): .*fleet-upgrade decide <approval-id> rollback\|retry\|skip\|abort$/,
    );
    expect(lines.at(-1)).toMatch(/dea-1 +operator decided: rollback \(by ops@example\.com\)/);
  });

  it("shows a node held while another node's question is open, and its release", () => {
    id = 0;
    const view = new WatchView();
    const run = { runId: 'r', cluster: 'c' };
    view.add(ev('ExecutionStarted', 0, { executionStartedEventDetails: { input: JSON.stringify({ cluster: 'c', targetVersion: '2.0.0' }) } }));
    view.add(entered('MapStateEntered', 'Upgrade nodes of the group', { group: { role: 'dea', nodes: [{ id: 'dea-1' }, { id: 'dea-3' }] }, run }, 1));
    const child = 'arn:aws:states:us-east-1:1:execution:FleetUpgrade/UpgradeNodes:y';
    id = 0;
    view.add(entered('TaskStateEntered', 'May this node start?', { node: { id: 'dea-3' }, run }, 2), child);
    view.add(entered('TaskStateEntered', HELD_STATE_NAME, { node: { id: 'dea-3' }, run, gate: { go: false, held: true, waitingFor: ['dea-1'] } }, 3), child);
    expect(view.frame(T0 + 5000).find((l) => l.includes('dea-3'))).toMatch(/‖ dea-3 +held: waiting for a decision on dea-1 \(2\.0s\)/);
    view.add(exited('TaskStateExited', HELD_STATE_NAME, { node: { id: 'dea-3' }, run }, 7), child);
    expect(view.take().slice(-2)).toEqual([
      '[   3.0s] dea-3          held: waiting for a decision on dea-1',
      '[   7.0s] dea-3          released after 4.0s: asks again whether it may start',
    ]);
  });

  it('shows PAUSED: in the header while the run is paused, and on a node waiting in the paused state', () => {
    id = 0;
    const view = new WatchView();
    const run = { runId: 'r', cluster: 'c' };
    view.add(ev('ExecutionStarted', 0, { executionStartedEventDetails: { input: JSON.stringify({ cluster: 'c', targetVersion: '2.0.0' }) } }));
    view.add(entered('MapStateEntered', 'Upgrade nodes of the group', { group: { role: 'dea', nodes: [{ id: 'dea-1' }, { id: 'dea-2' }] }, run }, 1));
    const pause = { pausedBy: 'alice', pausedAt: '2026-11-24T10:30:02.000Z', until: '2026-11-25T10:30:02.000Z' };
    view.setPause(pause, T0 + 2000);
    const child = 'arn:aws:states:us-east-1:1:execution:FleetUpgrade/UpgradeNodes:z';
    id = 0;
    view.add(entered('TaskStateEntered', PAUSED_STATE_NAME, { node: { id: 'dea-2' }, run, gate: { go: false, paused: true, until: pause.until } }, 3), child);
    const frame = view.frame(T0 + 5000);
    expect(frame[0]).toBe('Upgrade of c to 2.0.0 — RUNNING, 5.0s — PAUSED by alice (limit 2026-11-25T10:30:02.000Z)');
    expect(frame.find((l) => l.includes('dea-2'))).toMatch(/‖ dea-2 +PAUSED: waiting for fleet-upgrade resume \(limit 2026-11-25T10:30:02.000Z\) \(2\.0s\)/);
    view.setPause(null, T0 + 6000);
    expect(view.take().slice(-3)).toEqual([
      '[   2.0s] run PAUSED by alice at 2026-11-24T10:30:02.000Z: nodes in flight finish, none starts until fleet-upgrade resume (limit 2026-11-25T10:30:02.000Z)',
      '[   3.0s] dea-2          PAUSED: waiting for fleet-upgrade resume (limit 2026-11-25T10:30:02.000Z)',
      '[   6.0s] run resumed (no longer paused)',
    ]);
  });

  it('ignores events it has already seen (polls overlap)', () => {
    id = 0;
    const view = new WatchView();
    const start = ev('ExecutionStarted', 0, { executionStartedEventDetails: { input: '{"cluster":"c","targetVersion":"1.0.0"}' } });
    view.add(start);
    view.add(start);
    expect(view.take()).toHaveLength(1);
    expect(view.seen).toBe(1);
  });
});

describe('operator formatting', () => {
  it("marks nodes off the cluster's most common version and names the versions", () => {
    const { rows, versions } = nodeRows([
      { nodeId: 'dea-10', roles: ['dea'], version: '3.1.0', status: 'UPGRADED' },
      { nodeId: 'dea-2', roles: ['dea'], version: '3.0.0', status: 'FAILED' },
      { nodeId: 'core-1', roles: ['primary'], version: '3.1.0', status: 'UPGRADED' },
    ]);
    expect(rows.map((r) => [r.id, r.odd])).toEqual([
      ['core-1', false],
      ['dea-2', true],
      ['dea-10', false],
    ]);
    const text = formatNodes('c', rows, versions, false);
    expect(text).toContain('*dea-2');
    expect(text).toContain('Mixed versions: 3.1.0 (2 nodes), 3.0.0 (1 node)');
    expect(formatNodes('c', rows, versions, true)).toContain('\x1b[33m*dea-2');
  });

  it('prints the plan group by group with versions and reasons', () => {
    const input = parseInput({
      cluster: 'c',
      targetVersion: '3.1.0',
      nodes: [
        { id: 'dea-1', roles: ['dea'] },
        { id: 'dea-2', roles: ['dea'] },
        { id: 'core-1', roles: ['primary'] },
      ],
      concurrency: { dea: 2 },
    });
    const text = formatPlan(
      planUpgrade(
        input,
        input.nodes ?? [],
        new Map([
          ['dea-1', '3.0.0'],
          ['dea-2', '3.0.0'],
          ['core-1', '3.1.0'],
        ]),
      ),
    );
    expect(text).toContain('Plan: c → 3.1.0: 2 to upgrade, 1 to skip; maintenance mode on core-1');
    expect(text).toContain('1. group dea (2 nodes, 2 at a time)');
    expect(text).toMatch(/core-1 +primary +3\.1\.0 +3\.1\.0 +skip +already at 3\.1\.0/);
  });

  it('reads --concurrency and makes readable run ids', () => {
    expect(parseConcurrency('dea=4,unmatched=2')).toEqual({ dea: 4, unmatched: 2 });
    expect(() => parseConcurrency('dea:4')).toThrow(/--concurrency: expected ROLE=N/);
    expect(readableRunId('prod-als', '3.2.0', new Date('2026-11-24T10:30:59Z'))).toBe('prod-als-3.2.0-20261124T1030');
  });
});
