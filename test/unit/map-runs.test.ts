import { describe, expect, it } from 'vitest';
import { MapRun, mapRunSettings, type MapRunChild } from '../../local/map-runs.js';
import { ExecutionHistories } from '../../local/history-events.js';
import { page } from '../../local/list-page.js';

const owner = {
  executionArn: 'arn:aws:states:us-east-1:123456789012:execution:M:run',
  stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:M',
};

describe('Map Runs as DescribeMapRun reports them', () => {
  it('reads MaxConcurrency and the tolerated failures off the Map state, directly or by path, 0 when absent', () => {
    expect(mapRunSettings({ MaxConcurrency: 10 }, {}, 3)).toEqual({ maxConcurrency: 10, toleratedFailurePercentage: 0, toleratedFailureCount: 0, items: 3 });
    expect(mapRunSettings({ MaxConcurrencyPath: '$.group.concurrency', ToleratedFailureCount: 2 }, { group: { concurrency: 4 } }, 5)).toMatchObject({
      maxConcurrency: 4,
      toleratedFailureCount: 2,
    });
  });

  it('counts items by their child execution: not started yet pending, then running, succeeded, failed or aborted', () => {
    const run = new MapRun<MapRunChild>('arn:aws:states:us-east-1:123456789012:mapRun:M/L:1', owner, 1_000, mapRunSettings({ MaxConcurrency: 2 }, {}, 5));
    run.children.set('a', { status: 'SUCCEEDED' });
    run.children.set('b', { status: 'FAILED' });
    run.children.set('c', { status: 'RUNNING' });
    expect(run.describe()).toMatchObject({
      status: 'RUNNING',
      startDate: 1,
      maxConcurrency: 2,
      itemCounts: { pending: 2, running: 1, succeeded: 1, failed: 1, aborted: 0, timedOut: 0, total: 5, resultsWritten: 0 },
      executionCounts: { pending: 2, running: 1, total: 5 },
    });
    expect(run.describe()).not.toHaveProperty('stopDate');
    run.end('ABORTED', 3_000);
    run.end('SUCCEEDED', 4_000);
    expect(run.describe()).toMatchObject({ status: 'ABORTED', stopDate: 3 });
    expect(run.listItem()).toEqual({ ...owner, mapRunArn: run.arn, startDate: 1, stopDate: 3 });
  });

  it('gives each Distributed Map entry a run owned by the execution that entered it; a stopped parent aborts the runs still going', () => {
    const definition = {
      StartAt: 'Outer',
      States: {
        Outer: {
          Type: 'Map',
          Label: 'Outer',
          ItemsPath: '$.items',
          MaxConcurrency: 1,
          ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' }, StartAt: 'Work', States: { Work: { Type: 'Pass', End: true } } },
          End: true,
        },
      },
    };
    const histories = new ExecutionHistories(definition, { region: 'us-east-1', account: '123456789012', stateMachine: 'M', execution: 'run' });
    histories.add({ type: 'StateEntered', timestamp: 5_000, stateName: 'Outer', stateType: 'Map', input: { items: [1, 2] } });
    histories.add({ type: 'MapIterationStarted', timestamp: 5_001, stateName: 'Outer', stateType: 'Map', input: { items: [1, 2] }, index: 0 });
    expect(histories.mapRuns.map((r) => r.listItem())).toEqual([
      { ...owner, mapRunArn: expect.stringMatching(/^arn:aws:states:us-east-1:123456789012:mapRun:M\/Outer:/), startDate: 5 },
    ]);
    histories.abortChildren(6_000);
    expect(histories.mapRuns[0]?.describe()).toMatchObject({ status: 'ABORTED', stopDate: 6, itemCounts: { pending: 1, aborted: 1, total: 2 } });
  });

  it('pages a list: maxResults 0 means 100, nextToken goes on, a bad token or size is refused', () => {
    const items = Array.from({ length: 150 }, (_, i) => i);
    expect(page(items, {}).items).toHaveLength(100);
    expect(page(items, { maxResults: 0 }).nextToken).toBe('100');
    expect(page(items, { nextToken: '100' })).toEqual({ items: items.slice(100) });
    expect(() => page(items, { nextToken: 'x' })).toThrow(expect.objectContaining({ name: 'InvalidToken' }));
    expect(() => page(items, { maxResults: 1001 })).toThrow(expect.objectContaining({ name: 'ValidationException' }));
  });
});
