import { describe, expect, it } from 'vitest';
import { DynamoDBApprovalStore, type ApprovalStore, type StoredApproval } from '../../adapters/approval-store.js';
import type { ApprovalDecision, ApprovalRequest } from '../../core/approval.js';
import { onContractTable } from '../support/contract-table.js';

// The ApprovalStore port's contract, run against its DynamoDB adapter on the engine under test.
let approvals: ApprovalStore;
onContractTable('approval', (table) => {
  approvals = new DynamoDBApprovalStore(table);
});

const request = (approvalId: string, createdAt = '2026-11-30T01:00:00.000Z'): ApprovalRequest => ({
  approvalId,
  runId: 'r',
  cluster: 'c',
  nodeId: 'dea-2',
  roles: ['dea'],
  failedStep: 'upgrade',
  exitCode: 1,
  outputTail: 'failed',
  from: '3.0.0',
  to: '3.1.0',
  backupId: null,
  upgraded: [],
  createdAt,
  expiresAt: '2026-11-30T02:00:00.000Z',
  onTimeout: 'rollback',
});
const decision = (decidedBy: string, decidedAt = '2026-11-30T01:10:00.000Z'): ApprovalDecision => ({
  decision: 'retry',
  decidedBy,
  decidedAt,
  byTimeout: false,
});
const stored = async (approvalId: string): Promise<StoredApproval> => (await approvals.getApproval(approvalId)) as StoredApproval;
const pendingIds = async (): Promise<string[]> => (await approvals.pendingApprovals()).map((a) => a.approvalId);

describe('an approval (APPROVAL#id / APPROVAL, APPROVALS#PENDING / APPROVAL#id)', () => {
  it('is recorded PENDING with its token, and listed as waiting, oldest first', async () => {
    await approvals.putApproval(request('a-later', '2026-11-30T01:05:00.000Z'), 'token-later', 1_900_000_000);
    await approvals.putApproval(request('a-put'), 'token-1', 1_900_000_000, { expiresAt: 1_800_000_000 });
    expect(await stored('a-put')).toMatchObject({
      ...request('a-put'),
      taskToken: 'token-1',
      state: 'PENDING',
      lastNotifiedAt: '2026-11-30T01:00:00.000Z',
      linkExpiresAt: 1_800_000_000,
      ttl: 1_900_000_000,
    });
    expect((await pendingIds()).filter((id) => id === 'a-put' || id === 'a-later')).toEqual(['a-put', 'a-later']);
    expect(await approvals.getApproval('a-none')).toBeNull();
  });

  it('is decided once: a second decision is refused, and it no longer waits', async () => {
    await approvals.putApproval(request('a-claim'), 'token', 1_900_000_000);
    expect(await approvals.claimApproval('a-claim', { ...decision('alice'), decidedIdentity: { issuer: 'idp', subject: 'alice' } })).toBe(true);
    expect(await approvals.claimApproval('a-claim', decision('bob'))).toBe(false);
    expect(await stored('a-claim')).toMatchObject({
      state: 'DECIDED',
      decision: 'retry',
      decidedBy: 'alice',
      decidedIdentity: { issuer: 'idp', subject: 'alice' },
    });
    expect(await pendingIds()).not.toContain('a-claim');
    expect(await approvals.claimApproval('a-none', decision('alice'))).toBe(false);
  });

  it('a claim whose answer was not delivered is undone (that claim only), and the approval waits again', async () => {
    await approvals.putApproval(request('a-unclaim'), 'token', 1_900_000_000);
    await approvals.claimApproval('a-unclaim', decision('alice', 't-alice'));
    await approvals.unclaimApproval(await stored('a-unclaim'), 't-someone-else');
    expect((await stored('a-unclaim')).state).toBe('DECIDED');
    await approvals.unclaimApproval(await stored('a-unclaim'), 't-alice');
    expect(await stored('a-unclaim')).not.toHaveProperty('decidedBy');
    expect((await stored('a-unclaim')).state).toBe('PENDING');
    expect(await pendingIds()).toContain('a-unclaim');
  });

  it('a decision that came too late records what the timeout applied, with the attempt beside it; never over another claim', async () => {
    await approvals.putApproval(request('a-late'), 'token', 1_900_000_000);
    await approvals.claimApproval('a-late', decision('alice', 't-alice'));
    const late = await approvals.recordLateAttempt(await stored('a-late'), decision('alice', 't-alice'), 't-now');
    expect(late).toMatchObject({ decision: 'rollback', decidedBy: 'timeout', byTimeout: true, lateAttempt: { decision: 'retry', by: 'alice', at: 't-alice' } });
    const other = await approvals.recordLateAttempt(await stored('a-late'), decision('bob', 't-bob'), 't-later');
    expect(other).toMatchObject({ decidedAt: 't-now', lateAttempt: { by: 'alice' } });
  });

  it('records a reminder once per email read: a sweep that read the same email, or came after a decision, is refused', async () => {
    await approvals.putApproval(request('a-remind'), 'token', 1_900_000_000);
    const seen = await stored('a-remind');
    expect(await approvals.recordReminder(seen, { reminded: ['halfway'], notifiedAt: 't-1', linkExpiresAt: 1_800_000_100 })).toBe(true);
    expect(await approvals.recordReminder(seen, { reminded: ['halfway'], notifiedAt: 't-2' })).toBe(false);
    expect(await stored('a-remind')).toMatchObject({ reminded: ['halfway'], lastNotifiedAt: 't-1', linkExpiresAt: 1_800_000_100 });
    await approvals.claimApproval('a-remind', decision('alice'));
    expect(await approvals.recordReminder(await stored('a-remind'), { reminded: ['halfway', 'final'], notifiedAt: 't-3' })).toBe(false);
  });
});
