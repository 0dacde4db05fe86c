import { afterEach, beforeEach, describe, expect, it, vi, afterAll } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { GetSubscriptionAttributesCommand, ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DescribeDocumentCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
  type InstanceInformation,
  type PingStatus,
} from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { main } from '../../cli/main.js';

// Response shapes as the services document them: STS GetCallerIdentity, CloudFormation DescribeStacks and
// DescribeStackResources, SSM DescribeDocument / DescribeInstanceInformation / SendCommand / GetCommandInvocation,
// tag:GetResources, SNS ListSubscriptionsByTopic / GetSubscriptionAttributes, IAM SimulatePrincipalPolicy
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html: EvalDecision
// allowed | explicitDeny | implicitDeny).
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:FleetUpgradeStack-OperatorTopic0A1B2C3D-x1Y2z3`;
const MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:FleetUpgradeStateMachine1A2B3C4D-abc`;
const metadata = { httpStatusCode: 200, requestId: 'b7f0c1a2-0000-5000-8000-000000000000', attempts: 1, totalRetryDelay: 0 };
const OUTPUTS: Record<string, string> = {
  StateMachineArn: MACHINE,
  CleanupStateMachineArn: `${MACHINE}-cleanup`,
  TableName: 'FleetUpgradeStack-Table',
  DocumentName: 'FleetUpgradeStack-Runbook-AbC',
  TopicArn: TOPIC,
  ApprovalUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/approval',
  ApprovalCallbackUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/approval/callback',
  ArtifactBaseUrl: 'https://artifacts.example.com/app',
};
const ROLES = ['RunStep', 'Plan', 'RequestApproval', 'ApprovalPage', 'CommandFinished'];

const sts = mockClient(STSClient);
const cfn = mockClient(CloudFormationClient);
const ssm = mockClient(SSMClient);
const tagging = mockClient(ResourceGroupsTaggingAPIClient);
const sns = mockClient(SNSClient);
const iam = mockClient(IAMClient);
// Mocks patch the client classes for the whole process: undone for the files that run after this one.
afterAll(() => {
  sts.restore();
  cfn.restore();
  ssm.restore();
  tagging.restore();
  sns.restore();
  iam.restore();
});
let out = '';
let err = '';

function instance(id: string, roles?: string) {
  return {
    ResourceARN: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${id}`,
    Tags: [{ Key: 'fleet-upgrade:cluster', Value: 'prod' }, ...(roles === undefined ? [] : [{ Key: 'fleet-upgrade:roles', Value: roles }])],
  };
}

function online(id: string, ping: PingStatus = 'Online'): InstanceInformation {
  return {
    InstanceId: id,
    PingStatus: ping,
    PlatformType: 'Linux',
    PlatformName: 'Ubuntu',
    AgentVersion: '3.3.1142.0',
    ResourceType: 'EC2Instance',
    LastPingDateTime: new Date('2026-11-30T00:00:00Z'),
  };
}

beforeEach(() => {
  for (const m of [sts, cfn, ssm, tagging, sns, iam]) m.reset();
  out = '';
  err = '';
  process.exitCode = undefined;
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  sts
    .on(GetCallerIdentityCommand)
    .resolves({ $metadata: metadata, UserId: 'AROAEXAMPLE:alice', Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Operators/alice` });
  cfn.on(DescribeStacksCommand).resolves({
    $metadata: metadata,
    Stacks: [
      {
        StackName: 'FleetUpgradeStack',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date('2026-11-01T09:00:00Z'),
        Outputs: Object.entries(OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
  cfn.on(DescribeStackResourcesCommand).resolves({
    $metadata: metadata,
    StackResources: ROLES.map((r, i) => ({
      StackName: 'FleetUpgradeStack',
      LogicalResourceId: `${r}Role${(0x1a2b3c40 + i).toString(16).toUpperCase()}`,
      PhysicalResourceId: `FleetUpgradeStack-${r}Role-XyZ${i}`,
      ResourceType: 'AWS::IAM::Role',
      ResourceStatus: 'UPDATE_COMPLETE',
      Timestamp: new Date('2026-11-01T09:00:00Z'),
    })),
  });
  ssm.on(DescribeDocumentCommand).resolves({
    $metadata: metadata,
    Document: { Name: OUTPUTS.DocumentName, Status: 'Active', DocumentVersion: '3', DefaultVersion: '3', LatestVersion: '3', DocumentType: 'Command' },
  });
  tagging
    .on(GetResourcesCommand)
    .resolves({ $metadata: metadata, PaginationToken: '', ResourceTagMappingList: [instance('i-0aaa', 'dea'), instance('i-0bbb', 'primary,controller')] });
  ssm.on(DescribeInstanceInformationCommand).resolves({ $metadata: metadata, InstanceInformationList: [online('i-0aaa'), online('i-0bbb')] });
  const sub = `${TOPIC}:6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b`;
  sns.on(ListSubscriptionsByTopicCommand).resolves({
    $metadata: metadata,
    Subscriptions: [{ SubscriptionArn: sub, Owner: ACCOUNT, Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: TOPIC }],
  });
  sns.on(GetSubscriptionAttributesCommand).resolves({
    $metadata: metadata,
    Attributes: {
      SubscriptionArn: sub,
      TopicArn: TOPIC,
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      ConfirmationWasAuthenticated: 'true',
      PendingConfirmation: 'false',
    },
  });
  iam.on(SimulatePrincipalPolicyCommand).callsFake((input: { ActionNames: string[]; ResourceArns: string[] }) => ({
    $metadata: metadata,
    IsTruncated: false,
    EvaluationResults: [
      {
        EvalActionName: input.ActionNames[0],
        EvalResourceName: input.ResourceArns[0],
        EvalDecision: 'allowed',
        MatchedStatements: [],
        MissingContextValues: [],
      },
    ],
  }));
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('fleet-upgrade doctor', () => {
  it("says ready when every item is, asking IAM's simulator as each function's role", async () => {
    expect(await main(['doctor', '--cluster', 'prod', '--region', REGION]), err).toBe(0);
    for (const line of [
      `ok       credentials: arn:aws:sts::${ACCOUNT}:assumed-role/Operators/alice (account ${ACCOUNT}, region ${REGION})`,
      'ok       stack: FleetUpgradeStack: UPDATE_COMPLETE',
      'ok       approval sign-in: approvers sign in',
      'ok       SSM document: FleetUpgradeStack-Runbook-AbC: Active, version 3',
      'ok       node i-0aaa: roles dea; SSM agent Online',
      'ok       node i-0bbb: roles primary,controller; SSM agent Online',
      'ok       approver subscriptions: ops@example.com confirmed-authenticated',
      'ok       permission RunStepRole ssm:SendCommand: allowed on arn:aws:ssm:eu-west-1:123456789012:document/FleetUpgradeStack-Runbook-AbC',
    ])
      expect(out).toContain(line);
    expect(out).toMatch(/Ready: 15 ok\.$/m);
    const sendToNode = iam
      .commandCalls(SimulatePrincipalPolicyCommand)
      .map((c) => c.args[0].input)
      .find((i) => i.ResourceArns?.[0]?.includes(':instance/'));
    expect(sendToNode).toEqual({
      PolicySourceArn: `arn:aws:iam::${ACCOUNT}:role/FleetUpgradeStack-RunStepRole-XyZ0`,
      ActionNames: ['ssm:SendCommand'],
      ResourceArns: [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0aaa`],
      ContextEntries: [{ ContextKeyName: 'ssm:resourceTag/fleet-upgrade:cluster', ContextKeyType: 'string', ContextKeyValues: ['prod'] }],
    });
    // Read-only without --probe-artifacts.
    expect(ssm.commandCalls(SendCommandCommand)).toEqual([]);
  });

  it('names each problem with what to do, and exits 1', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      $metadata: metadata,
      Stacks: [
        {
          StackName: 'FleetUpgradeStack',
          StackStatus: 'UPDATE_ROLLBACK_COMPLETE',
          CreationTime: new Date(),
          Outputs: Object.entries(OUTPUTS)
            .filter(([k]) => k !== 'ApprovalCallbackUrl')
            .map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        },
      ],
    });
    ssm
      .on(DescribeDocumentCommand)
      .resolves({ $metadata: metadata, Document: { Name: OUTPUTS.DocumentName, Status: 'Active', DefaultVersion: '2', LatestVersion: '3' } });
    tagging.on(GetResourcesCommand).resolves({
      $metadata: metadata,
      ResourceTagMappingList: [instance('i-0aaa', 'dea'), instance('i-0bbb'), instance('i-0ccc', 'router'), instance('i-0ddd', 'base')],
    });
    ssm
      .on(DescribeInstanceInformationCommand)
      .resolves({ $metadata: metadata, InstanceInformationList: [online('i-0aaa', 'ConnectionLost'), online('i-0bbb'), online('i-0ddd')] });
    sns.on(ListSubscriptionsByTopicCommand).resolves({
      $metadata: metadata,
      Subscriptions: [{ SubscriptionArn: 'PendingConfirmation', Owner: ACCOUNT, Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: TOPIC }],
    });
    iam.on(SimulatePrincipalPolicyCommand).resolves({ $metadata: metadata, EvaluationResults: [{ EvalActionName: 'x', EvalDecision: 'implicitDeny' }] });
    expect(await main(['doctor', '--cluster', 'prod', '--region', REGION]), err).toBe(1);
    for (const line of [
      'PROBLEM  stack: FleetUpgradeStack: UPDATE_ROLLBACK_COMPLETE',
      'WARN     approval sign-in: not configured: anyone holding an approval link can decide',
      'WARN     SSM document: FleetUpgradeStack-Runbook-AbC: default version 2, latest 3',
      'PROBLEM  node i-0aaa: roles dea; SSM agent ConnectionLost',
      'PROBLEM  node i-0bbb: no fleet-upgrade:roles tag',
      '         → aws ec2 create-tags --resources i-0bbb --tags Key=fleet-upgrade:roles,Value=<roles, e.g. dea>',
      'PROBLEM  node i-0ccc: roles router; not managed by SSM',
      'ok       node i-0ddd: roles base; SSM agent Online',
      'PROBLEM  approver subscriptions: ops@example.com pending',
      'PROBLEM  permission ApprovalPageRole states:SendTaskSuccess: implicitDeny',
    ])
      expect(out).toContain(line);
    expect(out).toMatch(/^Not ready: \d+ problems, 2 warnings, \d+ ok\.$/m);
  });

  it('says plainly when there are no credentials or no stack', async () => {
    sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id FleetUpgradeStack does not exist'), { name: 'ValidationError' }));
    tagging.on(GetResourcesCommand).resolves({ $metadata: metadata, ResourceTagMappingList: [] });
    expect(await main(['doctor', '--cluster', 'prod', '--region', REGION])).toBe(1);
    expect(out).toContain('PROBLEM  credentials: CredentialsProviderError: Could not load credentials from any providers');
    expect(out).toContain('PROBLEM  stack: stack FleetUpgradeStack was not found');
    expect(out).toContain('PROBLEM  nodes: no instance is tagged fleet-upgrade:cluster=prod in this region');
    expect(out).toContain('skipped  permissions:');
  });

  it("--probe-artifacts asks one node to fetch the version's SHA256SUMS through SSM and reports what it got", async () => {
    ssm
      .on(SendCommandCommand)
      .resolves({ $metadata: metadata, Command: { CommandId: '5f1c2d3e-0000-4000-8000-000000000001', DocumentName: 'AWS-RunShellScript', Status: 'Pending' } });
    ssm
      .on(GetCommandInvocationCommand)
      .resolvesOnce({ $metadata: metadata, CommandId: 'x', InstanceId: 'i-0aaa', Status: 'InProgress', StatusDetails: 'InProgress', ResponseCode: -1 })
      .resolves({
        $metadata: metadata,
        CommandId: 'x',
        InstanceId: 'i-0aaa',
        Status: 'Success',
        StatusDetails: 'Success',
        ResponseCode: 0,
        StandardOutputContent: '200',
        StandardErrorContent: '',
      });
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const ran = main(['doctor', '--cluster', 'prod', '--region', REGION, '--probe-artifacts', '3.1.0', '--json']);
      await vi.runAllTimersAsync();
      expect(await ran, err).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    const sent = ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(sent).toMatchObject({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ['i-0aaa'],
      Parameters: { commands: ["curl -fsS -o /dev/null --max-time 20 -w '%{http_code}' 'https://artifacts.example.com/app/3.1.0/SHA256SUMS'"] },
    });
    const report = JSON.parse(out) as { ready: boolean; checks: { item: string; status: string; detail: string }[] };
    expect(report.ready).toBe(true);
    expect(report.checks.find((c) => c.item === 'artifact repository')).toEqual({
      item: 'artifact repository',
      status: 'ok',
      detail: 'i-0aaa fetched https://artifacts.example.com/app/3.1.0/SHA256SUMS (HTTP 200)',
    });
  });

  it('refuses a bad version or cluster with exit 2, asking nothing', async () => {
    expect(await main(['doctor', '--cluster', 'prod', '--probe-artifacts', '3.1.0; rm -rf /'])).toBe(2);
    expect(err).toContain('--probe-artifacts: expected a version like 3.1.0');
    expect(await main(['doctor', '--cluster', 'prod cluster'])).toBe(2);
    expect(sts.commandCalls(GetCallerIdentityCommand)).toEqual([]);
  });
});

describe('the CLI when AWS cannot be asked', () => {
  it('exits 3, not 2, saying what to check; --version prints the version', async () => {
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    expect(await main(['status', '--region', REGION])).toBe(3);
    expect(err).toContain(
      'cannot read the outputs of stack FleetUpgradeStack: CredentialsProviderError: Could not load credentials from any providers (check your AWS credentials and region',
    );
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4599'), { code: 'ECONNREFUSED' }));
    err = '';
    expect(await main(['--endpoint', 'http://127.0.0.1:4599', 'status'])).toBe(3);
    expect(err).toContain('is `fleet-upgrade local serve` running at http://127.0.0.1:4599?');
    expect(await main(['--profile', 'bad profile!', 'status'])).toBe(2);
    out = '';
    expect(await main(['--version'])).toBe(0);
    expect(out).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
