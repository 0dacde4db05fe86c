import { describe, expect, it } from 'vitest';
import { DynamoDBOutcomeStore, type OutcomeStore } from '../../adapters/outcome-store.js';
import type { NodeOutcome } from '../../core/summary.js';
import { onContractTable } from '../support/contract-table.js';

// The OutcomeStore port's contract, run against its DynamoDB adapter on the engine under test.
let outcomes: OutcomeStore;
onContractTable('outcome', (table) => {
  outcomes = new DynamoDBOutcomeStore(table);
});

const outcome = (nodeId: string, status: NodeOutcome['status'] = 'UPGRADED'): NodeOutcome => ({ nodeId, status, from: '3.0.0', to: '3.1.0', at: 'now' });

describe("how each node's part of a run ended (RUN#id / OUTCOME#node)", () => {
  it("reads the run's outcomes, one per node (the last recorded), and no other run's", async () => {
    await outcomes.putOutcome('r-1', outcome('dea-1', 'FAILED'));
    await outcomes.putOutcome('r-1', outcome('dea-1', 'ROLLED_BACK'));
    await outcomes.putOutcome('r-1', outcome('dea-10'));
    await outcomes.putOutcome('r-2', outcome('dea-2'));
    expect((await outcomes.runOutcomes('r-1')).map((o) => [o.nodeId, o.status])).toEqual([
      ['dea-1', 'ROLLED_BACK'],
      ['dea-10', 'UPGRADED'],
    ]);
    expect(await outcomes.runOutcomes('r-none')).toEqual([]);
  });

  it('reads the given nodes by key, leaving out those whose part has not ended', async () => {
    await outcomes.putOutcome('r-keys', outcome('dea-1'));
    await outcomes.putOutcome('r-keys', outcome('dea-3'));
    const found = await outcomes.nodeOutcomes('r-keys', ['dea-1', 'dea-2', 'dea-3']);
    expect(found.map((o) => o.nodeId).sort()).toEqual(['dea-1', 'dea-3']);
    expect(found[0]).toEqual(outcome(found[0]?.nodeId as string));
    expect(await outcomes.nodeOutcomes('r-keys', [])).toEqual([]);
  });

  it('reads more nodes by key than one request takes (100)', async () => {
    const ids = Array.from({ length: 130 }, (_, i) => `n-${i}`);
    for (const id of ids.filter((_, i) => i % 2 === 0)) await outcomes.putOutcome('r-many', outcome(id));
    expect(await outcomes.nodeOutcomes('r-many', ids)).toHaveLength(65);
  });
});
