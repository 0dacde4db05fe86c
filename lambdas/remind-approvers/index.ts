import { approvalReminderEmail } from '../../core/approval-email.js';
import { nextReminder } from '../../core/approval-reminders.js';
import { FleetStore } from '../../adapters/store.js';
import { approvalKey, approvalLink } from '../../adapters/approval-links.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { publishToOperators, signInIssuer } from '../../adapters/operator-topic.js';

/** What one sweep did: reminders emailed, and those another sweep (or a decision) got to first. */
export interface SweepResult {
  sent: { approvalId: string; reminder: string }[];
  skipped: string[];
}

/**
 * One sweep over the approvals still waiting for a human: for each, core decides whether a reminder (or a
 * fresh link) is due; it is recorded on the approval first (conditionally: an overlapping sweep sends
 * nothing twice), then emailed. A reminder whose publish fails is not sent again (at most once, never twice):
 * the sweep goes on with the others, then fails naming it, so the invocation shows as an error.
 */
export async function sweepReminders(store: FleetStore, now: Date): Promise<SweepResult> {
  const result: SweepResult = { sent: [], skipped: [] };
  const base = process.env.APPROVAL_URL;
  const unpublished: string[] = [];
  for (const approval of await store.pendingApprovals()) {
    const decision = nextReminder(
      {
        createdAt: Date.parse(approval.createdAt),
        expiresAt: Date.parse(approval.expiresAt),
        reminded: approval.reminded ?? [],
        ...(base && approval.linkExpiresAt !== undefined ? { linkExpiresAt: approval.linkExpiresAt * 1000 } : {}),
      },
      now.getTime(),
    );
    if (!decision.send) continue;
    const linkExpiresAt = base ? Math.floor(decision.linkExpiresAt / 1000) : undefined;
    // The email is built before the reminder is recorded: a link that cannot be signed leaves it due for the next sweep.
    const link = base && linkExpiresAt !== undefined ? approvalLink(base, approval.approvalId, linkExpiresAt, await approvalKey()) : null;
    const email = approvalReminderEmail(approval, decision.reminder, {
      link,
      ...(linkExpiresAt !== undefined ? { linkExpiresAt: linkExpiresAt * 1000 } : {}),
      signInIssuer: signInIssuer(),
    });
    const recorded = await store.recordReminder(approval, {
      reminded: decision.reminded,
      notifiedAt: now.toISOString(),
      ...(linkExpiresAt !== undefined ? { linkExpiresAt } : {}),
    });
    if (!recorded) {
      result.skipped.push(approval.approvalId);
      continue;
    }
    try {
      await publishToOperators(email.subject, email.message, {
        approvalId: approval.approvalId,
        runId: approval.runId,
        nodeId: approval.nodeId,
        kind: 'approval-reminder',
        reminder: decision.reminder,
        ...(link ? { link } : {}),
      });
      result.sent.push({ approvalId: approval.approvalId, reminder: decision.reminder });
      logger.info('approvers reminded', { approvalId: approval.approvalId, reminder: decision.reminder, deadline: approval.expiresAt });
    } catch (error) {
      logger.error('a reminder was recorded but could not be published; it is not sent again', {
        approvalId: approval.approvalId,
        reminder: decision.reminder,
        error: String(error),
      });
      unpublished.push(`${approval.approvalId} (${decision.reminder}): ${String(error)}`);
    }
  }
  if (unpublished.length > 0) throw new Error(`reminders recorded but not published: ${unpublished.join('; ')}`);
  return result;
}

/** Invoked by the stack's schedule rule (EventBridge, every few minutes); the scheduled event carries nothing it needs. */
export const handler = async (): Promise<SweepResult> => sweepReminders(new FleetStore(documentClient(), requireEnv('TABLE_NAME')), new Date());
