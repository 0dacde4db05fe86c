import { describe, expect, it } from 'vitest';
import { DynamoDBNodeStore, type NodeStore } from '../../adapters/node-store.js';
import type { NodeOutcome } from '../../core/summary.js';
import { onContractTable } from '../support/contract-table.js';

// The NodeStore port's contract, run against its DynamoDB adapter on the engine under test.
let nodes: NodeStore;
onContractTable('node', (table) => {
  nodes = new DynamoDBNodeStore(table);
});

const outcome = (nodeId: string, o: Partial<NodeOutcome>): NodeOutcome => ({ nodeId, status: 'UPGRADED', from: '3.0.0', to: '3.1.0', at: 'now', ...o });

describe("a node's own record (CLUSTER#c / NODE#id)", () => {
  it('an upgrade records the new version and the one before; the plan reads the versions by node', async () => {
    await nodes.recordOutcomeOnNode('up', 'run-1', ['dea'], outcome('dea-1', {}));
    await nodes.recordOutcomeOnNode('up', 'run-1', ['router'], outcome('router-1', { status: 'SKIPPED', from: '3.1.0', to: '3.1.0' }));
    expect(await nodes.knownVersions('up')).toEqual(
      new Map([
        ['dea-1', '3.1.0'],
        ['router-1', '3.1.0'],
      ]),
    );
    expect(await nodes.getNodeRecord('up', 'dea-1')).toMatchObject({ version: '3.1.0', previousVersion: '3.0.0', roles: ['dea'], lastRun: 'run-1' });
    expect(await nodes.getNodeRecord('up', 'router-1')).not.toHaveProperty('previousVersion');
    expect(await nodes.getNodeRecord('up', 'dea-9')).toBeNull();
  });

  it('a failure whose version is unknown keeps the version recorded before', async () => {
    await nodes.recordOutcomeOnNode('fail', 'run-1', ['dea'], outcome('dea-1', {}));
    await nodes.recordOutcomeOnNode('fail', 'run-2', ['dea'], outcome('dea-1', { status: 'NEEDS_ATTENTION', from: '3.1.0', to: null }));
    expect(await nodes.nodeRecords('fail')).toEqual([
      { nodeId: 'dea-1', roles: ['dea'], status: 'NEEDS_ATTENTION', version: '3.1.0', previousVersion: '3.0.0', lastRun: 'run-2', updatedAt: 'now' },
    ]);
  });

  it('keeps the last decision about the node (who, how) until an outcome without one', async () => {
    const decided = outcome('dea-1', { status: 'ROLLED_BACK', to: '3.0.0', decision: 'rollback', decidedBy: 'alice', byTimeout: false });
    await nodes.recordOutcomeOnNode('decided', 'run-1', ['dea'], decided);
    expect((await nodes.getNodeRecord('decided', 'dea-1'))?.lastDecision).toEqual({
      decision: 'rollback',
      by: 'alice',
      byTimeout: false,
      runId: 'run-1',
      at: 'now',
    });
    await nodes.recordOutcomeOnNode('decided', 'run-2', ['dea'], outcome('dea-1', {}));
    expect(await nodes.getNodeRecord('decided', 'dea-1')).not.toHaveProperty('lastDecision');
  });
});
