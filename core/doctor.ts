/**
 * `fleet-upgrade doctor`: what is ready for a run and what is not, item by item. The checks talk to AWS
 * (cli/doctor-checks.ts); what they conclude, and how the report reads, is decided here.
 */

export type CheckStatus = 'ok' | 'warn' | 'problem' | 'skipped';

export interface CheckResult {
  /** What was checked, e.g. `credentials`, `node dea-1`. */
  item: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** For a warning or a problem: what to do about it. */
  fix?: string;
}

/** The outputs a run and the CLI need; a stack without one of them is not (or not fully) a fleet-upgrade stack. */
export const REQUIRED_OUTPUTS = ['StateMachineArn', 'CleanupStateMachineArn', 'TableName', 'DocumentName', 'TopicArn', 'ApprovalUrl'] as const;

/** A stack a run can use: created or updated, and not in the middle of a change or a failed one. */
export function stackStatusCheck(stack: string, status: string | undefined): CheckResult {
  if (status === undefined)
    return {
      item: 'stack',
      status: 'problem',
      detail: `stack ${stack} was not found`,
      fix: 'deploy it (`npx cdk deploy`, see the operator guide) or pass --stack NAME',
    };
  if (status === 'CREATE_COMPLETE' || status === 'UPDATE_COMPLETE') return { item: 'stack', status: 'ok', detail: `${stack}: ${status}` };
  if (status.endsWith('_IN_PROGRESS'))
    return { item: 'stack', status: 'problem', detail: `${stack}: ${status}`, fix: 'wait for the stack change to finish, then run doctor again' };
  return {
    item: 'stack',
    status: 'problem',
    detail: `${stack}: ${status}`,
    fix: 'the last deployment did not complete: read the stack events in the CloudFormation console and deploy again',
  };
}

export function outputsCheck(outputs: Record<string, string>): CheckResult {
  const missing = REQUIRED_OUTPUTS.filter((key) => !outputs[key]);
  if (missing.length > 0)
    return {
      item: 'stack outputs',
      status: 'problem',
      detail: `missing ${missing.join(', ')}`,
      fix: 'is it a fleet-upgrade stack of this version? deploy the current one',
    };
  return { item: 'stack outputs', status: 'ok', detail: REQUIRED_OUTPUTS.join(', ') };
}

export function signInCheck(outputs: Record<string, string>): CheckResult {
  if (outputs.ApprovalCallbackUrl) return { item: 'approval sign-in', status: 'ok', detail: `approvers sign in (redirect URI ${outputs.ApprovalCallbackUrl})` };
  return {
    item: 'approval sign-in',
    status: 'warn',
    detail: 'not configured: anyone holding an approval link can decide',
    fix: 'deploy with approvalIssuer, approvalClientId, approvalClientSecretArn and approvers (docs/operator-guide.md, docs/security.md)',
  };
}

export function documentCheck(name: string, doc: { status?: string; defaultVersion?: string; latestVersion?: string } | null): CheckResult {
  if (doc === null) return { item: 'SSM document', status: 'problem', detail: `${name} was not found`, fix: 'deploy the stack again: it creates the document' };
  if (doc.status !== 'Active')
    return {
      item: 'SSM document',
      status: 'problem',
      detail: `${name} is ${doc.status ?? 'in an unknown state'}`,
      fix: 'wait until it is Active, or deploy again',
    };
  if (doc.defaultVersion !== doc.latestVersion) {
    return {
      item: 'SSM document',
      status: 'warn',
      detail: `${name}: default version ${doc.defaultVersion ?? '?'}, latest ${doc.latestVersion ?? '?'}`,
      fix: 'runs use the default version: make the latest the default (aws ssm update-document-default-version) if it is the one you deployed',
    };
  }
  return { item: 'SSM document', status: 'ok', detail: `${name}: Active, version ${doc.defaultVersion ?? '?'}` };
}

/** One node: tagged with roles, managed by SSM and online. */
export function nodeCheck(id: string, roles: string | undefined, ssm: { pingStatus?: string; platformType?: string } | undefined): CheckResult {
  const item = `node ${id}`;
  if (roles === undefined || roles.trim() === '')
    return {
      item,
      status: 'problem',
      detail: 'no fleet-upgrade:roles tag',
      fix: `aws ec2 create-tags --resources ${id} --tags Key=fleet-upgrade:roles,Value=<roles, e.g. dea>`,
    };
  if (ssm === undefined) {
    return {
      item,
      status: 'problem',
      detail: `roles ${roles}; not managed by SSM`,
      fix: 'install and start the SSM agent, and give the instance a profile with AmazonSSMManagedInstanceCore (docs/operator-guide.md)',
    };
  }
  if (ssm.pingStatus !== 'Online')
    return {
      item,
      status: 'problem',
      detail: `roles ${roles}; SSM agent ${ssm.pingStatus ?? 'unknown'}`,
      fix: 'start the node or its SSM agent: a run refuses a cluster with a node offline',
    };
  if (ssm.platformType !== undefined && ssm.platformType !== 'Linux')
    return { item, status: 'problem', detail: `roles ${roles}; platform ${ssm.platformType}`, fix: 'the runbooks are shell scripts: nodes must run Linux' };
  return { item, status: 'ok', detail: `roles ${roles}; SSM agent Online` };
}

/** A permission the stack's functions need, judged by IAM's policy simulator. */
export function permissionCheck(role: string, action: string, resource: string, decision: string | undefined): CheckResult {
  const item = `permission ${role} ${action}`;
  if (decision === 'allowed') return { item, status: 'ok', detail: `allowed on ${resource}` };
  return {
    item,
    status: 'problem',
    detail: `${decision ?? 'no answer'} on ${resource}`,
    fix: 'a permissions boundary, SCP or edited policy denies what a run needs: compare with the synthesized template (docs/security.md)',
  };
}

export function overall(results: readonly CheckResult[]): { ok: number; warn: number; problem: number; skipped: number; ready: boolean } {
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  return { ok: count('ok'), warn: count('warn'), problem: count('problem'), skipped: count('skipped'), ready: count('problem') === 0 };
}

const MARK: Record<CheckStatus, string> = { ok: 'ok     ', warn: 'WARN   ', problem: 'PROBLEM', skipped: 'skipped' };

/** The report as the terminal shows it: one line an item, its fix indented below. */
export function formatReport(results: readonly CheckResult[]): string {
  const lines = results.flatMap((r) => [
    `${MARK[r.status]}  ${r.item}: ${r.detail}`,
    ...(r.fix === undefined || r.status === 'ok' ? [] : [`         → ${r.fix}`]),
  ]);
  const o = overall(results);
  lines.push(
    '',
    o.ready
      ? `Ready: ${o.ok} ok${o.warn > 0 ? `, ${o.warn} warning${o.warn > 1 ? 's' : ''}` : ''}${o.skipped > 0 ? `, ${o.skipped} skipped` : ''}.`
      : `Not ready: ${o.problem} problem${o.problem > 1 ? 's' : ''}, ${o.warn} warning${o.warn === 1 ? '' : 's'}, ${o.ok} ok.`,
  );
  return lines.join('\n');
}
