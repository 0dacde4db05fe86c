import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { startLocalSns, type LocalSns, type PublishedMessage } from '../../local/sns-endpoint.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, resetClients } from '../../adapters/aws-clients.js';
import { resetApprovalKey, verifyLink } from '../../adapters/approval-links.js';
import { linkExpiry } from '../../core/approval-reminders.js';
import type { ApprovalRequest } from '../../core/approval.js';
import { UNTRUSTED_BEGIN } from '../../core/untrusted-text.js';
import { handler, sweepReminders } from '../../lambdas/remind-approvers/index.js';
import { localTable } from '../support/dynamodb.js';
import { TEST_KEY_HEX, approvalRequest } from '../support/approvals.js';

/**
 * The reminder sweep against the local DynamoDB and a local SNS topic: what it emails, what it records on
 * the approval, and that a reminder goes out once however many sweeps overlap.
 */
const TABLE = 'fleet-upgrade-reminders';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-24T10:00:00.000Z');
const key = Buffer.from(TEST_KEY_HEX, 'hex');
let dynamodb: LocalDynamoDb;
let sns: LocalSns;
const store = () => new FleetStore(documentClient(), TABLE);

beforeAll(async () => {
  dynamodb = await localTable(TABLE);
  sns = await startLocalSns(() => undefined);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SNS: sns.endpoint,
    TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:fleet-upgrade-test',
    APPROVAL_URL: 'https://approvals.invalid/approval',
    APPROVAL_KEY: TEST_KEY_HEX,
  });
  resetClients();
  resetApprovalKey();
});
afterAll(async () => {
  await sns?.close();
  await dynamodb?.stop();
});

/** An approval asked at `createdAt` that waits `wait` ms, stored as request-approval stores it (its link capped at 7 days). */
async function asked(createdAt: number, wait: number, overrides: Partial<ApprovalRequest> = {}): Promise<ApprovalRequest> {
  const request = approvalRequest({ createdAt: new Date(createdAt).toISOString(), expiresAt: new Date(createdAt + wait).toISOString(), ...overrides });
  const linkExp = Math.floor(linkExpiry(createdAt + wait, createdAt) / 1000);
  await store().putApproval(request, `token-${request.approvalId}`, Math.floor((createdAt + wait) / 1000) + 7 * 86_400, { expiresAt: linkExp });
  return request;
}

/** The reminders emailed about one approval. */
const reminders = (approvalId: string): PublishedMessage[] =>
  sns.published.filter((m) => m.attributes.approvalId === approvalId && m.attributes.kind === 'approval-reminder');

/** The decision ends the reminders; tests close their approvals so later sweeps do not see them. */
const decide = (approvalId: string, at: number) =>
  store().claimApproval(approvalId, { decision: 'rollback', decidedBy: 'test', decidedAt: new Date(at).toISOString(), byTimeout: false });

describe('remind-approvers', () => {
  it('emails each reminder once (halfway, one hour before the deadline), then nothing more', async () => {
    // Milliseconds as request-approval's clock gives them: a link's exp has whole seconds, and still lasts to the deadline.
    const a = await asked(T0 + 123, DAY + 456);
    for (const hours of [1, 11.9, 12, 12.1, 18, 23, 23.2, 23.9, 24, 25]) await sweepReminders(store(), new Date(T0 + hours * HOUR));
    expect(reminders(a.approvalId).map((m) => m.attributes.reminder)).toEqual(['halfway', 'final']);
    const stored = await store().getApproval(a.approvalId);
    expect(stored).toMatchObject({ state: 'PENDING', reminded: ['halfway', 'final'], lastNotifiedAt: new Date(T0 + 23.2 * HOUR).toISOString() });
    await decide(a.approvalId, T0 + 25 * HOUR);
  });

  it('says the deadline, what the timeout does and how to decide, with a link that verifies; the node output fenced', async () => {
    const a = await asked(T0, DAY, { onTimeout: 'abort', outputTail: 'Decide here: https://evil.example/approval' });
    await sweepReminders(store(), new Date(T0 + 12 * HOUR));
    const [email] = reminders(a.approvalId);
    expect(email?.subject).toBe(`fleet-upgrade: reminder - decide by 2026-11-25 10:00 UTC on ${a.nodeId} in ${a.cluster}`);
    expect(email?.message).toContain('Without a decision by then, the run will abort');
    expect(email?.message).toContain(`fleet-upgrade decide ${a.approvalId} rollback|retry|skip|abort`);
    expect(email?.message).toContain('No sign-in is configured: anyone holding this link can decide');
    expect(email?.message).not.toContain('https://evil.example');
    const link = new URL(email?.attributes.link ?? '');
    expect(email?.message.indexOf(link.toString())).toBeLessThan(email?.message.indexOf(UNTRUSTED_BEGIN) ?? 0);
    const check = verifyLink(
      { id: link.searchParams.get('id'), exp: link.searchParams.get('exp'), sig: link.searchParams.get('sig') },
      key,
      (T0 + 12 * HOUR) / 1000,
    );
    expect(check).toMatchObject({ ok: true, link: { approvalId: a.approvalId, expiresAt: (T0 + DAY) / 1000 } });
    await decide(a.approvalId, T0 + 13 * HOUR);
  });

  it('sends nothing once the approval is decided', async () => {
    const a = await asked(T0, DAY);
    await decide(a.approvalId, T0 + HOUR);
    for (const hours of [12, 23]) await sweepReminders(store(), new Date(T0 + hours * HOUR));
    expect(reminders(a.approvalId)).toEqual([]);
    expect((await store().getApproval(a.approvalId))?.reminded).toBeUndefined();
  });

  it('sends a fresh link a day before the 7-day cap when the deadline is later, and records its expiry', async () => {
    const a = await asked(T0, 20 * DAY);
    expect((await store().getApproval(a.approvalId))?.linkExpiresAt).toBe((T0 + 7 * DAY) / 1000);
    for (const days of [5, 5.9, 6, 6.1]) await sweepReminders(store(), new Date(T0 + days * DAY));
    const [fresh, ...more] = reminders(a.approvalId);
    expect(more).toEqual([]);
    expect(fresh?.attributes.reminder).toBe('fresh-link');
    expect(fresh?.message).toMatch(/^A fresh link: the one emailed earlier expires before the deadline\./);
    expect(Number(new URL(fresh?.attributes.link ?? '').searchParams.get('exp'))).toBe((T0 + 13 * DAY) / 1000);
    expect(await store().getApproval(a.approvalId)).toMatchObject({ linkExpiresAt: (T0 + 13 * DAY) / 1000, reminded: [] });
    // The halfway reminder carries a fresh link too: the link in hand never lapses before the deadline.
    await sweepReminders(store(), new Date(T0 + 10 * DAY));
    expect(
      reminders(a.approvalId)
        .map((m) => [m.attributes.reminder, Number(new URL(m.attributes.link ?? '').searchParams.get('exp'))])
        .at(-1),
    ).toEqual(['halfway', (T0 + 17 * DAY) / 1000]);
    await decide(a.approvalId, T0 + 11 * DAY);
  });

  it('sends a reminder once when sweeps overlap: the record is conditional on what each sweep read', async () => {
    const a = await asked(T0, DAY);
    const results = await Promise.all([1, 2, 3].map(() => sweepReminders(store(), new Date(T0 + 12 * HOUR))));
    expect(reminders(a.approvalId)).toHaveLength(1);
    expect(results.flatMap((r) => r.sent).filter((s) => s.approvalId === a.approvalId)).toHaveLength(1);
    // A sweep that read the approval before that reminder was recorded is refused, and sends nothing.
    const seen = { ...(await store().getApproval(a.approvalId)), lastNotifiedAt: a.createdAt } as Parameters<FleetStore['recordReminder']>[0];
    await expect(store().recordReminder(seen, { reminded: ['halfway'], notifiedAt: new Date(T0 + 12 * HOUR).toISOString() })).resolves.toBe(false);
    await decide(a.approvalId, T0 + 13 * HOUR);
    await expect(
      store().recordReminder(
        { ...seen, lastNotifiedAt: new Date(T0 + 12 * HOUR).toISOString() },
        { reminded: ['halfway', 'final'], notifiedAt: new Date(T0 + 23 * HOUR).toISOString() },
      ),
    ).resolves.toBe(false);
  });

  it('as invoked by the schedule rule: sweeps with the clock, and names the sign-in issuer when one is configured', async () => {
    const now = Date.now();
    const a = await asked(now - 2 * HOUR, 3 * HOUR);
    process.env.APPROVAL_SIGN_IN_ISSUER = 'https://login.example.com';
    try {
      const result = await handler();
      expect(result.sent).toEqual([{ approvalId: a.approvalId, reminder: 'halfway' }]);
    } finally {
      delete process.env.APPROVAL_SIGN_IN_ISSUER;
    }
    expect(reminders(a.approvalId)[0]?.message).toContain('Deciding requires signing in with https://login.example.com as an allowed approver.');
    await decide(a.approvalId, now);
  });
});
