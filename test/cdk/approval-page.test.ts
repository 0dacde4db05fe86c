import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { FleetUpgradeStack } from '../../lib/fleet-upgrade-stack.js';
import { TEST_PACKAGE_KEY } from '../support/package-key.js';

type Resource = { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

let stack: FleetUpgradeStack;
let template: Template;
let resources: Record<string, Resource>;
let pageId: string;
let pageRoleId: string;

function app(): App {
  mkdirSync('.tmp', { recursive: true });
  return new App({ outdir: mkdtempSync(join('.tmp', 'cdk-test-')), context: { 'aws:cdk:bundling-stacks': [] } });
}

function logicalIdOf(type: string, id: RegExp = /./): string {
  const ids = Object.entries(resources)
    .filter(([logicalId, r]) => r.Type === type && id.test(logicalId))
    .map(([logicalId]) => logicalId);
  expect(ids, type).toHaveLength(1);
  return ids[0] as string;
}

/** Every statement of every policy attached to the page function's role. */
function pageStatements(): Statement[] {
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: pageRoleId }]))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

beforeAll(() => {
  stack = new FleetUpgradeStack(app(), 'FleetUpgradeStack', {
    artifactBaseUrl: 'https://artifacts.example.com/app',
    packageSigningPublicKey: TEST_PACKAGE_KEY,
    approverEmails: ['ops@example.com', 'oncall@example.org'],
  });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
  const page = Object.entries(resources).find(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['fleet-upgrade:handler'] === 'approval-page');
  expect(page).toBeDefined();
  pageId = page?.[0] ?? '';
  pageRoleId = (page?.[1].Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
});

describe('approval page in the stack', () => {
  it('creates the link key as a generated Secrets Manager secret and gives the page its ARN', () => {
    const secretId = logicalIdOf('AWS::SecretsManager::Secret');
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
    });
    expect(resources[pageId]?.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: { Variables: { APPROVAL_KEY_SECRET_ARN: { Ref: secretId }, TABLE_NAME: { Ref: logicalIdOf('AWS::DynamoDB::Table') } } },
    });
    expect(stack.resolve(stack.approvalKeySecret.secretArn)).toEqual({ Ref: secretId });
  });

  it('lets the page function only read the key, touch approval items, and answer tasks of this state machine', () => {
    const secretId = logicalIdOf('AWS::SecretsManager::Secret');
    const tableId = logicalIdOf('AWS::DynamoDB::Table');
    const machineId = logicalIdOf('AWS::StepFunctions::StateMachine', /^StateMachine/);
    const logsId = logicalIdOf('AWS::Logs::LogGroup', /^ApprovalPageLogs/);
    const keyId = logicalIdOf('AWS::KMS::Key');
    const statements = pageStatements();
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logsId, 'Arn'] } },
      { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: { Ref: secretId } },
      {
        Effect: 'Allow',
        // PutItem: unclaimApproval lists an approval again when its answer could not be delivered.
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem'],
        Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APPROVAL#*', 'APPROVALS#PENDING'] } },
      },
      {
        Effect: 'Allow',
        Action: [
          'kms:Decrypt',
          'kms:DescribeKey',
          'kms:Encrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
        ],
        Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
      },
      {
        Effect: 'Allow',
        Action: 'states:SendTaskSuccess',
        Resource: [{ Ref: machineId }, { 'Fn::Join': ['', [{ Ref: machineId }, '/*']] }],
      },
    ]);
    // Nothing broader: no wildcard action or resource, no other table operation, no other task response.
    for (const s of statements) {
      for (const action of ([] as string[]).concat(s.Action)) expect(action).not.toContain('*');
      expect(JSON.stringify(s.Resource)).not.toMatch(/"\*"/);
    }
    // Nothing beyond these statements: no managed policy (its logs are the first statement), no inline policy.
    expect(resources[pageRoleId]?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(resources[pageRoleId]?.Properties.Policies).toBeUndefined();
  });

  it('routes ANY /approval of an HTTP API (payload 2.0) to the page, throttled, and exports its URL', () => {
    const apiId = logicalIdOf('AWS::ApiGatewayV2::Api');
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [pageId, 'Arn'] },
    });
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /approval' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 20 },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [pageId, 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
    });
    const url = stack.resolve(stack.approvalUrl) as { 'Fn::Join': [string, unknown[]] };
    expect(url).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }, '/approval']] });
    template.hasOutput('ApprovalUrl', { Value: url });
    template.hasOutput('ApprovalKeySecretArn', { Value: { Ref: logicalIdOf('AWS::SecretsManager::Secret') } });
    // The URL depends on the API alone (not on the page function): request-approval can carry it without a cycle.
    expect(resources[apiId]?.Properties).not.toHaveProperty('Target');
  });

  it('lets request-approval carry the page URL and read the key without a dependency cycle', () => {
    // What the stack does to sign links in request-approval: its env and grant must not loop back through the state machine.
    const wired = new FleetUpgradeStack(app(), 'Wired', { artifactBaseUrl: 'https://artifacts.example.com/app', packageSigningPublicKey: TEST_PACKAGE_KEY });
    const requestApproval = wired.node.findChild('RequestApprovalFunction') as lambda.Function;
    requestApproval.addEnvironment('APPROVAL_URL', wired.approvalUrl).addEnvironment('APPROVAL_KEY_SECRET_ARN', wired.approvalKeySecret.secretArn);
    wired.approvalKeySecret.grantRead(requestApproval);
    // Template.fromStack refuses a template with a dependency cycle ("Template is undeployable"); a function URL
    // (or the page function's ARN) in request-approval's environment makes one: request-approval → page function →
    // its policy → state machine → request-approval.
    const all = Template.fromStack(wired).toJSON().Resources as Record<string, Resource>;
    expect(JSON.stringify(all[wired.getLogicalId(requestApproval.node.defaultChild as lambda.CfnFunction)]?.Properties.Environment)).toContain('ApiEndpoint');
  });

  it('subscribes each approver email to the operator topic', () => {
    const topicId = logicalIdOf('AWS::SNS::Topic');
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    for (const email of ['ops@example.com', 'oncall@example.org']) {
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: email, TopicArn: { Ref: topicId } });
    }
  });

  it('refuses a malformed approver email naming the field', () => {
    expect(
      () =>
        new FleetUpgradeStack(app(), 'Bad', {
          artifactBaseUrl: 'https://artifacts.example.com/app',
          packageSigningPublicKey: TEST_PACKAGE_KEY,
          approverEmails: ['ops@example.com', 'not an email'],
        }),
    ).toThrow('approverEmails[1]: expected an email address like ops@example.com, got "not an email"');
    const none = Template.fromStack(
      new FleetUpgradeStack(app(), 'NoEmails', { artifactBaseUrl: 'https://artifacts.example.com/app', packageSigningPublicKey: TEST_PACKAGE_KEY }) as Stack,
    );
    none.resourceCountIs('AWS::SNS::Subscription', 0);
    none.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /approval', Target: Match.anyValue() });
  });
});

describe('approval page sign-in in the stack', () => {
  const signIn = {
    issuer: 'https://example.okta.com',
    clientId: '0oa1fleetupgrade',
    clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:fleet-upgrade/oidc-client-AbCdEf',
    approvers: 'alice@example.com,group:fleet-operators',
  };

  function stackWith(approvalSignIn: typeof signIn & { groupsClaim?: string }): FleetUpgradeStack {
    return new FleetUpgradeStack(app(), 'FleetUpgradeStack', {
      artifactBaseUrl: 'https://artifacts.example.com/app',
      packageSigningPublicKey: TEST_PACKAGE_KEY,
      approvalSignIn,
    });
  }

  it('gives the page the provider, the approvers and read access to the client secret, a GET callback route and its URL as an output', () => {
    const signed = Template.fromStack(stackWith({ ...signIn, groupsClaim: 'cognito:groups' }));
    const all = signed.toJSON().Resources as Record<string, Resource>;
    const [id, page] =
      Object.entries(all).find(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['fleet-upgrade:handler'] === 'approval-page') ?? [];
    expect(id).toBeDefined();
    expect(page?.Properties.Environment).toMatchObject({
      Variables: {
        APPROVAL_ISSUER: signIn.issuer,
        APPROVAL_CLIENT_ID: signIn.clientId,
        APPROVAL_CLIENT_SECRET_ARN: signIn.clientSecretArn,
        APPROVERS: signIn.approvers,
        APPROVAL_GROUPS_CLAIM: 'cognito:groups',
      },
    });
    const roleId = (page?.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = Object.values(all)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: signIn.clientSecretArn,
      }),
    );
    // The session key is the page's alone: no other role may read it, so whoever signs links cannot mint a session.
    const sessionKeyId = Object.entries(all).find(([logicalId, r]) => r.Type === 'AWS::SecretsManager::Secret' && /SessionKey/.test(logicalId))?.[0] ?? '';
    expect(sessionKeyId).not.toBe('');
    expect(page?.Properties.Environment).toMatchObject({ Variables: { APPROVAL_SESSION_KEY_SECRET_ARN: { Ref: sessionKeyId } } });
    const readers = Object.values(all).filter(
      (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.PolicyDocument).includes(`"${sessionKeyId}"`),
    );
    expect(readers.map((r) => r.Properties.Roles)).toEqual([[{ Ref: roleId }]]);
    signed.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /approval/callback' });
    signed.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /approval' });
    expect(Object.keys(signed.findOutputs('ApprovalCallbackUrl'))).toEqual(['ApprovalCallbackUrl']);
  });

  it('warns, at synth, that the link alone decides when no provider is configured; and has no callback route', () => {
    const warnings = stack.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data)));
    expect(warnings.some((w) => w.includes('approvalIssuer is not set: anyone holding an approval link'))).toBe(true);
    expect(Object.values(resources).some((r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.RouteKey === 'GET /approval/callback')).toBe(false);
    expect(template.findOutputs('ApprovalCallbackUrl')).toEqual({});
  });

  it.each([
    [{ issuer: 'http://idp.example.com' }, /^approvalIssuer: expected an https:\/\/ issuer URL/],
    [{ issuer: 'not a url' }, /^approvalIssuer: expected the identity provider's issuer URL/],
    [{ clientId: 'has space' }, /^approvalClientId: expected the client id/],
    [{ clientSecretArn: 'fleet-upgrade/oidc-client' }, /^approvalClientSecretArn: expected the ARN of a Secrets Manager secret/],
    [{ approvers: 'alice' }, /^approvers: "alice" is neither an email address/],
    [{ groupsClaim: 'groups claim' }, /^approvalGroupsClaim: expected a claim name/],
  ])('refuses bad sign-in settings naming the setting: %j', (bad, message) => {
    expect(() => stackWith({ ...signIn, ...bad })).toThrow(message);
  });
});
