import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { SNSClient } from '@aws-sdk/client-sns';
import { DescribeDocumentCommand, DescribeInstanceInformationCommand, GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { clusterMembers } from '../adapters/discovery.js';
import { documentCheck, nodeCheck, outputsCheck, permissionCheck, signInCheck, stackStatusCheck, type CheckResult } from '../core/doctor.js';
import { CLUSTER_TAG } from '../core/node-tags.js';
import { SUBSCRIPTION_STATE_HELP, TOPIC_ARN_PATTERN } from '../core/subscription-link.js';
import { topicSubscriptions } from './subscriptions.js';

/** The AWS clients doctor asks, all from one region/endpoint/credentials configuration. */
export interface DoctorClients {
  sts: STSClient;
  cfn: CloudFormationClient;
  ssm: SSMClient;
  tagging: ResourceGroupsTaggingAPIClient;
  sns: SNSClient;
  iam: IAMClient;
}

export function doctorClients(config: object): DoctorClients {
  return {
    sts: new STSClient(config),
    cfn: new CloudFormationClient(config),
    ssm: new SSMClient(config),
    tagging: new ResourceGroupsTaggingAPIClient(config),
    sns: new SNSClient(config),
    iam: new IAMClient(config),
  };
}

function message(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** What the checks found that later checks need. */
export interface DoctorContext {
  account?: string;
  region?: string;
  outputs: Record<string, string>;
  /** Role logical-id prefix (e.g. `RunStepRole`) → role name, from the stack's resources. */
  roles: Record<string, string>;
  nodes: string[];
}

export async function checkCredentials(c: DoctorClients, ctx: DoctorContext): Promise<CheckResult> {
  try {
    const me = await c.sts.send(new GetCallerIdentityCommand({}));
    ctx.account = me.Account;
    ctx.region = await c.sts.config.region();
    return { item: 'credentials', status: 'ok', detail: `${me.Arn ?? '?'} (account ${me.Account ?? '?'}, region ${ctx.region})` };
  } catch (error) {
    return {
      item: 'credentials',
      status: 'problem',
      detail: message(error),
      fix: 'set AWS credentials and a region (AWS_PROFILE / AWS_REGION, or --region) for the account the stack is in',
    };
  }
}

export async function checkStack(c: DoctorClients, stack: string, ctx: DoctorContext): Promise<CheckResult[]> {
  let described;
  try {
    described = (await c.cfn.send(new DescribeStacksCommand({ StackName: stack }))).Stacks?.[0];
  } catch (error) {
    if (error instanceof Error && /does not exist/.test(error.message)) return [stackStatusCheck(stack, undefined)];
    return [{ item: 'stack', status: 'problem', detail: message(error), fix: 'your credentials need cloudformation:DescribeStacks' }];
  }
  ctx.outputs = Object.fromEntries((described?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  try {
    const resources = (await c.cfn.send(new DescribeStackResourcesCommand({ StackName: stack }))).StackResources ?? [];
    for (const r of resources) {
      const prefix = /^([A-Z][A-Za-z]+Role)[0-9A-F]{8}$/.exec(r.LogicalResourceId ?? '')?.[1];
      if (r.ResourceType === 'AWS::IAM::Role' && prefix !== undefined && r.PhysicalResourceId) ctx.roles[prefix] = r.PhysicalResourceId;
    }
  } catch {
    // The permission checks say they were skipped when no role is known.
  }
  return [stackStatusCheck(stack, described?.StackStatus), outputsCheck(ctx.outputs), signInCheck(ctx.outputs)];
}

export async function checkDocument(c: DoctorClients, ctx: DoctorContext): Promise<CheckResult> {
  const name = ctx.outputs.DocumentName;
  if (!name) return { item: 'SSM document', status: 'skipped', detail: 'the stack names no document' };
  try {
    const d = (await c.ssm.send(new DescribeDocumentCommand({ Name: name }))).Document;
    return documentCheck(name, {
      ...(d?.Status ? { status: d.Status } : {}),
      ...(d?.DefaultVersion ? { defaultVersion: d.DefaultVersion } : {}),
      ...(d?.LatestVersion ? { latestVersion: d.LatestVersion } : {}),
    });
  } catch (error) {
    if (error instanceof Error && error.name === 'InvalidDocument') return documentCheck(name, null);
    return { item: 'SSM document', status: 'problem', detail: message(error), fix: 'your credentials need ssm:DescribeDocument' };
  }
}

/** The cluster's tagged nodes: each with roles, managed by SSM and online. */
export async function checkNodes(c: DoctorClients, cluster: string, ctx: DoctorContext): Promise<CheckResult[]> {
  let members: Map<string, string | undefined>;
  try {
    members = await clusterMembers(cluster, c.tagging);
  } catch (error) {
    return [{ item: 'nodes', status: 'problem', detail: message(error), fix: 'your credentials need tag:GetResources' }];
  }
  if (members.size === 0) {
    return [
      {
        item: 'nodes',
        status: 'problem',
        detail: `no instance is tagged ${CLUSTER_TAG}=${cluster} in this region`,
        fix: `aws ec2 create-tags --resources <instance ids> --tags Key=${CLUSTER_TAG},Value=${cluster} Key=fleet-upgrade:roles,Value=<roles>`,
      },
    ];
  }
  const ids = [...members.keys()];
  ctx.nodes = ids;
  const info = new Map<string, { pingStatus?: string; platformType?: string }>();
  try {
    for (let i = 0; i < ids.length; i += 50) {
      let token: string | undefined;
      do {
        const page = await c.ssm.send(
          new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: ids.slice(i, i + 50) }], ...(token ? { NextToken: token } : {}) }),
        );
        for (const n of page.InstanceInformationList ?? []) {
          if (n.InstanceId)
            info.set(n.InstanceId, { ...(n.PingStatus ? { pingStatus: n.PingStatus } : {}), ...(n.PlatformType ? { platformType: n.PlatformType } : {}) });
        }
        token = page.NextToken || undefined;
      } while (token !== undefined);
    }
  } catch (error) {
    return [{ item: 'nodes', status: 'problem', detail: message(error), fix: 'your credentials need ssm:DescribeInstanceInformation' }];
  }
  return ids.map((id) => nodeCheck(id, members.get(id), info.get(id)));
}

export async function checkSubscriptions(c: DoctorClients, ctx: DoctorContext, snsInRegion: (region: string) => SNSClient): Promise<CheckResult> {
  const topicArn = ctx.outputs.TopicArn;
  const region = topicArn === undefined ? undefined : TOPIC_ARN_PATTERN.exec(topicArn)?.[1];
  if (topicArn === undefined || region === undefined) return { item: 'approver subscriptions', status: 'skipped', detail: 'the stack names no topic' };
  try {
    const found = await topicSubscriptions(snsInRegion(region), topicArn);
    if (found.length === 0)
      return {
        item: 'approver subscriptions',
        status: 'problem',
        detail: 'nobody is subscribed: approval requests reach nobody',
        fix: 'deploy with -c approverEmails=…, then fleet-upgrade confirm-subscription for each',
      };
    const unsafe = found.filter((s) => s.state !== 'confirmed-authenticated');
    const listed = found.map((s) => `${s.endpoint} ${s.state}`).join(', ');
    if (unsafe.length === 0) return { item: 'approver subscriptions', status: 'ok', detail: listed };
    return {
      item: 'approver subscriptions',
      status: unsafe.length === found.length ? 'problem' : 'warn',
      detail: listed,
      fix: [...new Set(unsafe.map((s) => SUBSCRIPTION_STATE_HELP[s.state]))].join(' '),
    };
  } catch (error) {
    return {
      item: 'approver subscriptions',
      status: 'problem',
      detail: message(error),
      fix: 'your credentials need sns:ListSubscriptionsByTopic and sns:GetSubscriptionAttributes',
    };
  }
}

/** A sample of what each function must be allowed, asked of IAM's policy simulator (`iam:SimulatePrincipalPolicy`). */
function neededPermissions(ctx: DoctorContext, cluster: string): { role: string; action: string; resource: string; context?: Record<string, string> }[] {
  const arn = (service: string, resource: string) => `arn:aws:${service}:${ctx.region ?? ''}:${ctx.account ?? ''}:${resource}`;
  const o = ctx.outputs;
  const node = ctx.nodes[0];
  return [
    { role: 'RunStepRole', action: 'ssm:SendCommand', resource: arn('ssm', `document/${o.DocumentName ?? ''}`) },
    ...(node === undefined
      ? []
      : [
          {
            role: 'RunStepRole',
            action: 'ssm:SendCommand',
            resource: arn('ec2', `instance/${node}`),
            context: { [`ssm:resourceTag/${CLUSTER_TAG}`]: cluster },
          },
        ]),
    { role: 'RunStepRole', action: 'dynamodb:PutItem', resource: arn('dynamodb', `table/${o.TableName ?? ''}`) },
    { role: 'PlanRole', action: 'tag:GetResources', resource: '*' },
    { role: 'RequestApprovalRole', action: 'sns:Publish', resource: o.TopicArn ?? '' },
    { role: 'ApprovalPageRole', action: 'states:SendTaskSuccess', resource: o.StateMachineArn ?? '' },
    { role: 'CommandFinishedRole', action: 'states:SendTaskSuccess', resource: o.StateMachineArn ?? '' },
  ];
}

export async function checkPermissions(c: DoctorClients, cluster: string, ctx: DoctorContext): Promise<CheckResult[]> {
  if (ctx.account === undefined || Object.keys(ctx.roles).length === 0)
    return [{ item: 'permissions', status: 'skipped', detail: "the stack's function roles could not be read" }];
  const results: CheckResult[] = [];
  for (const need of neededPermissions(ctx, cluster)) {
    const roleName = ctx.roles[need.role];
    if (roleName === undefined) {
      results.push({
        item: `permission ${need.role} ${need.action}`,
        status: 'problem',
        detail: 'the role is not in the stack',
        fix: 'deploy the current stack',
      });
      continue;
    }
    try {
      const out = await c.iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: `arn:aws:iam::${ctx.account}:role/${roleName}`,
          ActionNames: [need.action],
          ResourceArns: [need.resource],
          ...(need.context
            ? {
                ContextEntries: Object.entries(need.context).map(([ContextKeyName, value]) => ({
                  ContextKeyName,
                  ContextKeyType: 'string' as const,
                  ContextKeyValues: [value],
                })),
              }
            : {}),
        }),
      );
      results.push(permissionCheck(need.role, need.action, need.resource, out.EvaluationResults?.[0]?.EvalDecision));
    } catch (error) {
      results.push({
        item: `permission ${need.role} ${need.action}`,
        status: 'skipped',
        detail: `cannot simulate: ${message(error)}`,
        fix: 'your credentials need iam:SimulatePrincipalPolicy',
      });
    }
  }
  return results;
}

/**
 * Whether a node can reach the package repository: `curl` of `<artifactBaseUrl>/<version>/SHA256SUMS` on one
 * node through SSM's AWS-RunShellScript, with the operator's credentials, waiting up to `waitMs`.
 */
export async function checkArtifacts(c: DoctorClients, version: string, ctx: DoctorContext, waitMs = 60_000, pollMs = 2_000): Promise<CheckResult> {
  const base = ctx.outputs.ArtifactBaseUrl;
  const node = ctx.nodes[0];
  if (!base || node === undefined)
    return {
      item: 'artifact repository',
      status: 'skipped',
      detail: base ? 'no node to ask' : 'the stack has no ArtifactBaseUrl output (deploy the current stack)',
    };
  const url = `${base.replace(/\/$/, '')}/${version}/SHA256SUMS`;
  try {
    const sent = await c.ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [node],
        TimeoutSeconds: 60,
        Comment: 'fleet-upgrade doctor: can this node reach the package repository?',
        // The URL is the stack's own output (checked https at synth) and a version checked by the caller: no other input.
        Parameters: { commands: [`curl -fsS -o /dev/null --max-time 20 -w '%{http_code}' '${url}'`] },
      }),
    );
    const id = sent.Command?.CommandId ?? '';
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, pollMs));
      let inv;
      try {
        inv = await c.ssm.send(new GetCommandInvocationCommand({ CommandId: id, InstanceId: node }));
      } catch (error) {
        if (error instanceof Error && error.name === 'InvocationDoesNotExist') continue;
        throw error;
      }
      if (inv.Status === 'Success')
        return { item: 'artifact repository', status: 'ok', detail: `${node} fetched ${url} (HTTP ${inv.StandardOutputContent?.trim() ?? '?'})` };
      if (inv.Status !== 'Pending' && inv.Status !== 'InProgress' && inv.Status !== 'Delayed') {
        return {
          item: 'artifact repository',
          status: 'problem',
          detail: `${node} could not fetch ${url}: ${inv.Status ?? '?'} ${inv.StandardErrorContent?.trim() ?? ''}`.trim(),
          fix: "check the node's route and proxy to the repository, and that the version is published there",
        };
      }
    }
    return {
      item: 'artifact repository',
      status: 'problem',
      detail: `${node} did not answer within ${waitMs / 1000} s`,
      fix: "check the node's SSM agent and network",
    };
  } catch (error) {
    return {
      item: 'artifact repository',
      status: 'skipped',
      detail: `cannot ask a node: ${message(error)}`,
      fix: "your credentials need ssm:SendCommand with AWS-RunShellScript on the cluster's nodes, and ssm:GetCommandInvocation",
    };
  }
}
