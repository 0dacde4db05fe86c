import { describe, expect, it } from 'vitest';
import { DynamoDBCheckpointStore, type CheckpointStore } from '../../adapters/checkpoint-store.js';
import type { StepId } from '../../core/steps.js';
import type { StepCheckpoint } from '../../core/summary.js';
import { onContractTable } from '../support/contract-table.js';

// The CheckpointStore port's contract, run against its DynamoDB adapter on the engine under test.
let checkpoints: CheckpointStore;
onContractTable('checkpoint', (table) => {
  checkpoints = new DynamoDBCheckpointStore(table);
});

const running = (nodeId: string, step: StepId, startedAt = 't1'): StepCheckpoint => ({
  nodeId,
  step,
  status: 'RUNNING',
  exitCode: null,
  warnings: [],
  startedAt,
});

describe('step checkpoints (RUN#id / STEP#…)', () => {
  it("a step's first attempt writes RUNNING; a retry is handed the earlier checkpoint, untouched", async () => {
    expect(await checkpoints.startCheckpoint('r-start', running('dea-1', 'upgrade', 't1'))).toBeNull();
    await checkpoints.setCheckpointCommand('r-start', 'dea-1', 'upgrade', 'cmd-1', 900);
    expect(await checkpoints.startCheckpoint('r-start', running('dea-1', 'upgrade', 't2'))).toEqual({
      ...running('dea-1', 'upgrade', 't1'),
      commandId: 'cmd-1',
      timeoutSeconds: 900,
    });
    expect(await checkpoints.getCheckpoint('r-start', 'dea-1', 'upgrade')).toMatchObject({ startedAt: 't1', commandId: 'cmd-1' });
    expect(await checkpoints.getCheckpoint('r-start', 'dea-1', 'restart')).toBeNull();
  });

  it("a finish sets what it gives, keeps the RUNNING checkpoint's start and the earlier attempts", async () => {
    const earlierAttempts = [{ exitCode: 1, outputTail: 'boom' }];
    await checkpoints.putCheckpoint('r-finish', { ...running('dea-1', 'restart', 't1'), earlierAttempts });
    await checkpoints.finishCheckpoint('r-finish', { ...running('dea-1', 'restart', 't9'), status: 'SUCCEEDED', exitCode: 0, finishedAt: 't3' });
    expect(await checkpoints.getCheckpoint('r-finish', 'dea-1', 'restart')).toMatchObject({
      status: 'SUCCEEDED',
      exitCode: 0,
      startedAt: 't1',
      finishedAt: 't3',
      earlierAttempts,
    });
    await checkpoints.finishCheckpoint('r-finish', { ...running('dea-2', 'restart', 't5'), status: 'FAILED', exitCode: 2 });
    expect(await checkpoints.getCheckpoint('r-finish', 'dea-2', 'restart')).toMatchObject({ status: 'FAILED', startedAt: 't5' });
  });

  it("reads a run's checkpoints maintenance mode first, then by node and step; one node's never include another's", async () => {
    for (const [node, step] of [
      ['dea-10', 'upgrade'],
      ['dea-1', 'upgrade'],
      ['dea-1', 'version-check'],
      ['core-1', 'maintenance-on'],
    ] as const) {
      await checkpoints.putCheckpoint('r-read', running(node, step));
    }
    expect((await checkpoints.runCheckpoints('r-read')).map((c) => `${c.nodeId} ${c.step}`)).toEqual([
      'core-1 maintenance-on',
      'dea-1 version-check',
      'dea-1 upgrade',
      'dea-10 upgrade',
    ]);
    expect((await checkpoints.nodeCheckpoints('r-read', 'dea-1')).map((c) => c.step)).toEqual(['version-check', 'upgrade']);
    expect(await checkpoints.runCheckpoints('r-none')).toEqual([]);
  });
});
