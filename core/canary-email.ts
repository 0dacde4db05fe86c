import { nodeNames, type ApprovalRequest } from './approval.js';
import { signInNotice, utc, type ApprovalEmailContext, type OperatorEmail } from './approval-email.js';
import { CANARY_DECISIONS, CANARY_DECISION_HELP } from './canary.js';

/** The canary's question by email: the link first, then what was upgraded, who waits, and what each choice does. */
export function canaryRequestEmail(a: ApprovalRequest, ctx: ApprovalEmailContext): OperatorEmail {
  return {
    subject: `fleet-upgrade: canary of ${a.cluster} upgraded to ${a.to}: continue or abort?`.slice(0, 100),
    message: [
      ...(ctx.link ? [`Decide here (the page asks you to confirm): ${ctx.link}`, signInNotice(ctx.signInIssuer)] : []),
      `Or: fleet-upgrade decide ${a.approvalId} ${CANARY_DECISIONS.join('|')}`,
      `No decision by ${utc(a.expiresAt)}: the run decides abort.`,
      '',
      `The upgrade of cluster ${a.cluster} to ${a.to} (run ${a.runId}) upgraded its canary nodes and waits before any other node starts.`,
      `Upgraded so far (the canary): ${nodeNames(a.upgraded)}`,
      `Waiting to start: ${nodeNames(a.held ?? [])}`,
      '',
      ...CANARY_DECISIONS.map((d) => `${d}: ${CANARY_DECISION_HELP[d]}`),
    ].join('\n'),
  };
}
