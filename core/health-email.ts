import { nodeNames, type ApprovalRequest } from './approval.js';
import { signInNotice, utc, type ApprovalEmailContext, type OperatorEmail } from './approval-email.js';
import { HEALTH_DECISIONS, HEALTH_DECISION_HELP } from './health.js';
import { fenceUntrusted } from './untrusted-text.js';

/** A firing alarm's question by email: the link first, then the alarms and why, what changed, who waits, and what each choice does. */
export function healthRequestEmail(a: ApprovalRequest, ctx: ApprovalEmailContext): OperatorEmail {
  const alarms = a.alarms ?? [];
  return {
    subject: `fleet-upgrade: health alarm ${alarms.map((x) => x.name).join(', ')} during the upgrade of ${a.cluster}: continue or abort?`.slice(0, 100),
    message: [
      ...(ctx.link ? [`Decide here (the page asks you to confirm): ${ctx.link}`, signInNotice(ctx.signInIssuer)] : []),
      `Or: fleet-upgrade decide ${a.approvalId} ${HEALTH_DECISIONS.join('|')}`,
      `No decision by ${utc(a.expiresAt)}: the run decides abort.`,
      '',
      `The upgrade of cluster ${a.cluster} to ${a.to} (run ${a.runId}) found a health alarm firing and starts no new node until you decide.`,
      ...alarms.flatMap((x) => [`Alarm ${x.name}, its reason as CloudWatch gives it:`, fenceUntrusted(x.reason)]),
      `Nodes changed since the gate last passed: ${nodeNames(a.changedSince ?? [])}`,
      `Upgraded so far: ${nodeNames(a.upgraded)}`,
      `Waiting to start: ${nodeNames(a.held ?? [])}`,
      '',
      ...HEALTH_DECISIONS.map((d) => `${d}: ${HEALTH_DECISION_HELP[d]}`),
    ].join('\n'),
  };
}
