import type { AnyDecision } from '../core/approval.js';
import { FleetStore } from '../adapters/store.js';
import { documentClient } from '../adapters/aws-clients.js';
import { handler as approvalPageHandler } from '../lambdas/approval-page/index.js';
import type { LocalIam } from './iam/local-iam.js';
import { startLocalOperator, type LocalSignIn } from './scripted-operator.js';
import { startLocalSns, type LocalSns } from './sns-endpoint.js';
import { LOCAL_ACCOUNT } from './state-machine-runner.js';
import type { CfnTemplate } from './template.js';

/**
 * Who answers the operators' questions. `scripted`: the stack serves the approval page itself (with a local
 * OpenID provider unless `signIn` is null) and answers each request through it as `decisions` say, in order
 * (a rehearsal). `pageUrl`: the caller serves the page there, and people decide (local serve); the topic
 * prints each notification and keeps the template's email subscriptions, pending until confirmed.
 */
export type LocalApprovals = { scripted: { decisions: AnyDecision[]; signIn: LocalSignIn | null } } | { pageUrl: string };

/** The operator topic and the environment the handlers find the approval page (and its sign-in) by. */
export interface LocalApprovalSide {
  topic: LocalSns;
  env: Record<string, string>;
}

export async function startApprovals(
  approvals: LocalApprovals,
  deps: { template: CfnTemplate; iam: LocalIam; tableName: string; progress: (line: string) => void; cleanups: (() => Promise<void>)[] },
): Promise<LocalApprovalSide> {
  if ('scripted' in approvals) {
    const operator = await startLocalOperator({
      handler: deps.iam.asFunction('approval-page', approvalPageHandler),
      decisions: approvals.scripted.decisions,
      signIn: approvals.scripted.signIn,
      store: () => new FleetStore(documentClient(), deps.tableName),
      say: deps.progress,
    });
    deps.cleanups.push(() => operator.close());
    return { topic: operator.topic, env: operator.env };
  }
  const emails = Object.values(deps.template.Resources)
    .filter((r) => r.Type === 'AWS::SNS::Subscription' && r.Properties?.Protocol === 'email')
    .map((r) => String(r.Properties?.Endpoint));
  const topic = await startLocalSns(
    (message) => process.stdout.write(`notification: ${message.subject}${message.attributes.link ? ` (${message.attributes.link})` : ''}\n`),
    deps.iam.topicArn === undefined ? undefined : { topicArn: deps.iam.topicArn, emails, owner: LOCAL_ACCOUNT },
  );
  deps.cleanups.push(() => topic.close());
  return { topic, env: { APPROVAL_URL: approvals.pageUrl } };
}
