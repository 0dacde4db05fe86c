import { DECISIONS, DECISION_HELP, decisionHelp, nodeNames, offeredDecisions, type ApprovalRequest } from './approval.js';
import type { ReminderKind } from './approval-reminders.js';
import { STEP_STATE_NAMES } from './steps.js';
import { fenceUntrusted } from './untrusted-text.js';
import { isValidVersion } from './version.js';

/** An email to the operator topic: SNS limits the subject to 100 printable ASCII characters (the adapter enforces it). */
export interface OperatorEmail {
  subject: string;
  message: string;
}

/** What an approval email says beside the evidence: its link (when there is an approval page) and who may decide. */
export interface ApprovalEmailContext {
  /** The signed link to the approval page, or null when the stack has none (decide from the CLI). */
  link: string | null;
  /** When that link stops working (epoch ms); said only when it comes before the deadline. */
  linkExpiresAt?: number;
  /** The OpenID Connect issuer approvers sign in with; absent when no sign-in is configured. */
  signInIssuer?: string;
}

/** Whether opening the link is enough to decide: the email says so, so nobody forwards a link that decides on its own. */
export function signInNotice(issuer: string | undefined): string {
  return issuer
    ? `Deciding requires signing in with ${issuer} as an allowed approver.`
    : 'No sign-in is configured: anyone holding this link can decide (see docs/security.md).';
}

/** "2026-11-24 10:30 UTC": a deadline the operator reads in an email, in one time zone whatever the reader's. */
export function utc(iso: string | number): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** How to decide, first in every approval email: the real link before any evidence, then the CLI and the deadline. */
function howToDecide(a: ApprovalRequest, ctx: ApprovalEmailContext): string[] {
  const deadline = Date.parse(a.expiresAt);
  return [
    ...(ctx.link ? [`Decide here (the page asks you to confirm): ${ctx.link}`, signInNotice(ctx.signInIssuer)] : []),
    `${ctx.link ? 'Or decide' : 'Decide'} from a terminal: fleet-upgrade decide ${a.approvalId} ${offeredDecisions(a).join('|')}`,
    `Deadline: ${utc(a.expiresAt)}. Without a decision by then, the run will ${a.onTimeout} (approval.onTimeout).`,
    ...(ctx.link && ctx.linkExpiresAt !== undefined && ctx.linkExpiresAt < deadline
      ? [`This link works until ${utc(ctx.linkExpiresAt)}; a fresh link is emailed before then.`]
      : []),
  ];
}

/** The first email: a node's step failed, the evidence, and how to decide. Everything the node wrote is fenced. */
export function approvalRequestEmail(a: ApprovalRequest, ctx: ApprovalEmailContext): OperatorEmail {
  const step = STEP_STATE_NAMES[a.failedStep];
  return {
    subject: `fleet-upgrade: ${a.nodeId} failed ${a.failedStep} in ${a.cluster} - decision needed`,
    message: [
      `${step} failed on node ${a.nodeId} (${a.roles.join(', ') || 'no roles'}) of cluster ${a.cluster}, run ${a.runId}.`,
      '',
      ...howToDecide(a, ctx),
      '',
      'Your choices:',
      ...DECISIONS.map((d) => `  ${d}: ${DECISION_HELP[d]}`),
      '',
      `Exit code: ${a.exitCode ?? 'none'}`,
      `Versions: ${reportedVersion(a.from)} → ${a.to}`,
      `Backup: ${a.backupId ?? 'none taken yet (the node was not changed before the backup step)'}`,
      `Already upgraded in this run: ${a.upgraded.length ? a.upgraded.join(', ') : 'none'}`,
      `Held until you decide (not started): ${nodeNames(a.held ?? [])}`,
      `Finishing their current node meanwhile: ${nodeNames(a.inFlight ?? [])}`,
      '',
      'Last output of the step, as the node wrote it:',
      fenceUntrusted(a.outputTail),
      '',
      `Approval ${a.approvalId}.`,
    ].join('\n'),
  };
}

const REMINDER_WORDING: Record<ReminderKind | 'fresh-link', string> = {
  halfway: 'Reminder: half the time to decide has passed',
  final: 'Last reminder: the deadline is close',
  'fresh-link': 'A fresh link: the one emailed earlier expires before the deadline',
};

/** A reminder while the decision waits: the deadline, what the timeout will do, how to decide; the evidence in brief. */
export function approvalReminderEmail(a: ApprovalRequest, reminder: ReminderKind | 'fresh-link', ctx: ApprovalEmailContext): OperatorEmail {
  return {
    // The deadline first: SNS cuts a subject at 100 characters, and a long cluster name goes before the deadline does.
    subject: `fleet-upgrade: reminder - decide by ${utc(a.expiresAt)} on ${a.nodeId} in ${a.cluster}`,
    message: [
      `${REMINDER_WORDING[reminder]}. ${reminderWhat(a)}`,
      '',
      ...howToDecide(a, ctx),
      '',
      'Your choices:',
      // The canary's and a health alarm's questions offer continue or abort, not a failed node's four.
      ...offeredDecisions(a).map((d) => `  ${d}: ${decisionHelp(a, d)}`),
      '',
      ...(a.kind === undefined
        ? [
            `Exit code: ${a.exitCode ?? 'none'}. Held until you decide: ${nodeNames(a.held ?? [])}.`,
            'Last output of the step, as the node wrote it:',
            fenceUntrusted(a.outputTail),
          ]
        : [
            `Held until you decide: ${nodeNames(a.held ?? [])}.`,
            ...(a.alarms ?? []).flatMap((x) => [`Alarm ${x.name}, its reason as CloudWatch gives it:`, fenceUntrusted(x.reason)]),
          ]),
      '',
      `Approval ${a.approvalId}.`,
    ].join('\n'),
  };
}

/** What the reminder is about, in one sentence: a failed step, the canary, or a firing health alarm. */
function reminderWhat(a: ApprovalRequest): string {
  if (a.kind === 'canary')
    return `The canary of cluster ${a.cluster} (run ${a.runId}) is upgraded (${nodeNames(a.upgraded)}) and waits for continue or abort since ${utc(a.createdAt)}.`;
  if (a.kind === 'health')
    return (
      `Health alarm ${(a.alarms ?? []).map((x) => x.name).join(', ')} fired during the upgrade of ` +
      `cluster ${a.cluster} (run ${a.runId}); no node starts until you decide (since ${utc(a.createdAt)}).`
    );
  return `${STEP_STATE_NAMES[a.failedStep]} failed on node ${a.nodeId} of cluster ${a.cluster}, run ${a.runId}, at ${utc(a.createdAt)}.`;
}

/** A version the node reported, shown only when it is one (anything else the node wrote stays in the fenced output). */
function reportedVersion(from: string | null): string {
  if (from === null) return 'unknown';
  return isValidVersion(from) ? from : 'unknown (the node reported something that is not a version)';
}
