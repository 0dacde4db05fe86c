import { describe, expect, it } from 'vitest';
import { DynamoDBLockStore, type LockStore } from '../../adapters/lock-store.js';
import { ClusterLockedError } from '../../core/errors.js';
import { onContractTable } from '../support/contract-table.js';

// The LockStore port's contract, run against its DynamoDB adapter on the engine under test.
let locks: LockStore;
onContractTable('lock', (table) => {
  locks = new DynamoDBLockStore(table);
});

const t0 = new Date('2026-11-30T01:00:00.000Z');
const later = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

describe('the cluster lock (CLUSTER#c / LOCK)', () => {
  it('is taken by one run until now + ttl, and taken again by the same run (a retried Lambda)', async () => {
    expect(await locks.getLock('c-free')).toBeNull();
    expect(await locks.acquireLock('c-free', 'run-1', t0, 600)).toEqual({ expiresAt: '2026-11-30T01:10:00.000Z' });
    expect(await locks.acquireLock('c-free', 'run-1', later(5), 600)).toEqual({ expiresAt: '2026-11-30T01:10:05.000Z' });
    expect(await locks.getLock('c-free')).toEqual({ runId: 'run-1', expiresAt: '2026-11-30T01:10:05.000Z' });
  });

  it('refuses another run with ClusterLockedError naming the holder, even past the expiry (only unlock breaks it)', async () => {
    await locks.acquireLock('c-held', 'run-1', t0, 60);
    const refused = await locks.acquireLock('c-held', 'run-2', later(10), 60).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ClusterLockedError);
    expect(refused).toMatchObject({ cluster: 'c-held', heldBy: 'run-1', expiresAt: '2026-11-30T01:01:00.000Z' });
    const pastExpiry = await locks.acquireLock('c-held', 'run-2', later(3600), 60).catch((e: unknown) => e);
    expect((pastExpiry as Error).message).toContain('fleet-upgrade unlock --cluster c-held --run run-1');
    expect((await locks.getLock('c-held'))?.runId).toBe('run-1');
  });

  it('is renewed by its run, never shortened; another run cannot renew it', async () => {
    await locks.acquireLock('c-renew', 'run-1', t0, 60);
    expect(await locks.renewLock('c-renew', 'run-1', later(30), 600)).toBe(true);
    expect(await locks.renewLock('c-renew', 'run-1', later(40), 60)).toBe(true);
    expect(await locks.getLock('c-renew')).toEqual({ runId: 'run-1', expiresAt: '2026-11-30T01:10:30.000Z' });
    expect(await locks.renewLock('c-renew', 'run-2', later(50), 600)).toBe(false);
    expect(await locks.renewLock('c-none', 'run-1', t0, 600)).toBe(false);
  });

  it('is released only by its run; releasing a free cluster is done already', async () => {
    await locks.acquireLock('c-release', 'run-1', t0, 60);
    expect(await locks.releaseLock('c-release', 'run-2')).toBe(false);
    expect((await locks.getLock('c-release'))?.runId).toBe('run-1');
    expect(await locks.releaseLock('c-release', 'run-1')).toBe(true);
    expect(await locks.getLock('c-release')).toBeNull();
    expect(await locks.releaseLock('c-release', 'run-1')).toBe(true);
    await locks.acquireLock('c-release', 'run-2', t0, 60);
  });
});
