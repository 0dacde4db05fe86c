import { describe, expect, it } from 'vitest';
import { DynamoDBHoldStore, type HoldStore } from '../../adapters/hold-store.js';
import { onContractTable } from '../support/contract-table.js';

// The HoldStore port's contract, run against its DynamoDB adapter on the engine under test.
let holds: HoldStore;
onContractTable('hold', (table) => {
  holds = new DynamoDBHoldStore(table);
});

describe('what keeps nodes of a run from starting (RUN#id / STOP, HOLD#node, HELD#node)', () => {
  it('the stop mark keeps the first reason', async () => {
    expect(await holds.runStopping('r-stop')).toBeNull();
    await holds.markRunStopping('r-stop', 'dea-1 failed: rollback decided', 't1');
    await holds.markRunStopping('r-stop', 'abort decided', 't2');
    expect(await holds.runStopping('r-stop')).toEqual({ reason: 'dea-1 failed: rollback decided', at: 't1' });
  });

  it('a hold is opened once (a retried ask keeps its first time) and closed once', async () => {
    await holds.openHold('r-hold', 'dea-1', 'upgrade', 't1');
    await holds.openHold('r-hold', 'dea-1', 'upgrade', 't2');
    await holds.openHold('r-hold', 'dea-2', 'restart', 't3');
    expect(await holds.openHolds('r-hold')).toEqual([
      { nodeId: 'dea-1', step: 'upgrade', at: 't1' },
      { nodeId: 'dea-2', step: 'restart', at: 't3' },
    ]);
    expect(await holds.closeHold('r-hold', 'dea-1')).toBe(true);
    expect(await holds.closeHold('r-hold', 'dea-1')).toBe(false);
    expect((await holds.openHolds('r-hold')).map((h) => h.nodeId)).toEqual(['dea-2']);
  });

  it('a held node waits with its token; its release adds the time waited and forgets the token', async () => {
    await holds.holdNode('r-held', 'dea-3', 'token-1', ['dea-1'], '2026-11-30T01:00:00.000Z');
    const [waiting] = await holds.heldNodes('r-held');
    expect(waiting).toEqual({ nodeId: 'dea-3', taskToken: 'token-1', since: '2026-11-30T01:00:00.000Z', heldMs: 0, waitedFor: ['dea-1'] });
    expect(await holds.releaseHeldNode('r-held', waiting!, '2026-11-30T01:00:02.500Z')).toBe(true);
    expect(await holds.heldNodes('r-held')).toEqual([{ nodeId: 'dea-3', heldMs: 2500, waitedFor: ['dea-1'], releasedAt: '2026-11-30T01:00:02.500Z' }]);
    expect(await holds.releaseHeldNode('r-held', waiting!, '2026-11-30T01:00:09.000Z')).toBe(false);
  });

  it('a node held again starts a new wait, keeping the time and the nodes it waited for before', async () => {
    await holds.holdNode('r-again', 'dea-3', 'token-1', ['dea-1'], '2026-11-30T01:00:00.000Z');
    await holds.releaseHeldNode('r-again', (await holds.heldNodes('r-again'))[0]!, '2026-11-30T01:00:01.000Z');
    await holds.holdNode('r-again', 'dea-3', 'token-2', ['dea-2'], '2026-11-30T01:05:00.000Z');
    expect(await holds.heldNodes('r-again')).toEqual([
      expect.objectContaining({ taskToken: 'token-2', since: '2026-11-30T01:05:00.000Z', heldMs: 1000, waitedFor: ['dea-1', 'dea-2'] }),
    ]);
  });

  it('a release of an older wait (the node waits again with a new token) ends nothing', async () => {
    await holds.holdNode('r-stale', 'dea-3', 'token-1', [], '2026-11-30T01:00:00.000Z');
    const [old] = await holds.heldNodes('r-stale');
    await holds.holdNode('r-stale', 'dea-3', 'token-2', [], '2026-11-30T01:00:05.000Z');
    expect(await holds.releaseHeldNode('r-stale', old!, '2026-11-30T01:00:06.000Z')).toBe(false);
    expect((await holds.heldNodes('r-stale'))[0]?.taskToken).toBe('token-2');
  });
});
