import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient } from '../../adapters/aws-clients.js';
import type { StepId } from '../../core/steps.js';
import { buildSummary } from '../../core/summary.js';
import { readInterruptedNodes } from '../../lambdas/plan/resume.js';
import { localTable } from '../support/dynamodb.js';

/** Where each node of a stopped run resumes, from that run's checkpoints and outcomes (core/resume.ts, read by the plan Lambda). */
let dynamodb: LocalDynamoDb;
const store = () => new FleetStore(documentClient(), 'fleet-upgrade-test');
const nodes = ['switched', 'retired', 'backed-up', 'rolled-back', 'cleanup-rolled-back', 'untouched', 'upgraded'];

beforeAll(async () => {
  dynamodb = await localTable();
});
afterAll(async () => {
  await dynamodb?.stop();
});

describe("a resumed run goes on from the step each node's checkpoints say", () => {
  it('switched: restart; retired (backed up or not): backup; rolled back (by the run or its cleanup), untouched or upgraded: from the start', async () => {
    const s = store();
    const runId = 'stopped-run';
    const run = {
      runId,
      cluster: 'resume-plan',
      targetVersion: '3.1.0',
      coreNode: 'upgraded',
      order: nodes,
      roles: Object.fromEntries(nodes.map((n) => [n, ['dea']])),
      plannedFrom: Object.fromEntries(nodes.map((n) => [n, '3.0.0'])),
      startedAt: '2026-11-24T10:00:00.000Z',
    };
    await s.putRun(run);
    const done = async (nodeId: string, ...steps: StepId[]) => {
      for (const step of steps)
        await s.putCheckpoint(runId, { nodeId, step, status: 'SUCCEEDED', exitCode: 0, warnings: [], startedAt: '2026-11-24T10:00:00.000Z' });
    };
    await done('switched', 'retire', 'backup', 'upgrade');
    await done('retired', 'retire');
    await done('backed-up', 'retire', 'backup');
    await done('rolled-back', 'retire', 'backup', 'upgrade', 'rollback');
    await s.recordOutcome('resume-plan', runId, ['dea'], {
      nodeId: 'rolled-back',
      status: 'ROLLED_BACK',
      from: '3.0.0',
      to: '3.0.0',
      at: '2026-11-24T10:01:00.000Z',
    });
    // The cleanup of a stopped run records its rollback as a failure of the node's upgrade.
    await done('cleanup-rolled-back', 'retire', 'backup', 'upgrade', 'rollback');
    await s.recordOutcome('resume-plan', runId, ['dea'], {
      nodeId: 'cleanup-rolled-back',
      status: 'FAILED',
      from: '3.0.0',
      to: '3.0.0',
      failedStep: 'rollback',
      at: '2026-11-24T10:01:00.000Z',
    });
    await done('upgraded', 'retire', 'backup', 'upgrade', 'restart', 'post-upgrade-validation');
    await s.recordOutcome('resume-plan', runId, ['dea'], {
      nodeId: 'upgraded',
      status: 'UPGRADED',
      from: '3.0.0',
      to: '3.1.0',
      at: '2026-11-24T10:01:00.000Z',
    });
    const { checkpoints, outcomes } = await s.runRecords(runId);
    await s.completeRun(
      buildSummary({
        run,
        checkpoints,
        outcomes,
        lockReleased: true,
        caught: { Error: 'ExecutionAborted', Cause: 'stopped' },
        finishedAt: '2026-11-24T10:02:00.000Z',
      }),
    );

    const resumed = await readInterruptedNodes(s, 'resume-plan', runId);
    expect(Object.fromEntries([...resumed].map(([id, r]) => [id, r.step]))).toEqual({ switched: 'restart', retired: 'backup', 'backed-up': 'backup' });
    expect(resumed.get('switched')?.from).toBe('3.0.0');
  });
});
