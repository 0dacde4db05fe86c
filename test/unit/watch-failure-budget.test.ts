import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { WatchView } from '../../cli/watch-view.js';

const T0 = Date.parse('2026-11-24T10:30:00Z');
let id = 0;
function ev(type: string, seconds: number, details: Record<string, unknown> = {}): HistoryEvent {
  id += 1;
  return { id, previousEventId: id - 1, timestamp: new Date(T0 + seconds * 1000), type, ...details } as HistoryEvent;
}
const entered = (name: string, input: unknown, s: number) => ev('TaskStateEntered', s, { stateEnteredEventDetails: { name, input: JSON.stringify(input) } });
const exited = (name: string, output: unknown, s: number) => ev('TaskStateExited', s, { stateExitedEventDetails: { name, output: JSON.stringify(output) } });

describe('watch view: the failure budget decides', () => {
  it('says a failed node was rolled back without asking, or that it stops the run, and by which policy', () => {
    id = 0;
    const view = new WatchView();
    const run = { runId: 'r', cluster: 'c' };
    view.add(ev('ExecutionStarted', 0, { executionStartedEventDetails: { input: JSON.stringify({ cluster: 'c', targetVersion: '2.0.0' }) } }));
    view.add(
      ev('MapStateEntered', 1, {
        stateEnteredEventDetails: {
          name: 'Upgrade nodes of the group',
          input: JSON.stringify({ group: { role: 'dea', nodes: [{ id: 'dea-1' }, { id: 'dea-2' }] }, run }),
        },
      }),
    );
    for (const [node, decision, by, s] of [
      ['dea-1', 'skip', 'policy: onFailure=rollback-and-continue (1 of 1 failures)', 2],
      ['dea-2', 'abort', 'policy: onFailure=rollback-and-continue (failure 2: the budget of 1 is spent)', 4],
    ] as const) {
      view.add(entered('Apply the failure budget', { node: { id: node }, run }, s));
      view.add(exited('Apply the failure budget', { node: { id: node }, approval: { decision, decidedBy: by } }, s + 1));
    }
    const lines = view.take();
    expect(lines).toContain('[   3.0s] dea-1          rolled back without asking: policy: onFailure=rollback-and-continue (1 of 1 failures)');
    expect(lines).toContain('[   5.0s] dea-2          stops the run: policy: onFailure=rollback-and-continue (failure 2: the budget of 1 is spent)');
  });
});
