import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { App, Validations, type CfnElement, type PolicyValidationPluginReport } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FleetUpgradeStack } from '../../lib/fleet-upgrade-stack.js';
import { CLUSTER_TAG } from '../../core/node-tags.js';
import { resolveIntrinsics } from '../../local/template.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../local/state-machine-runner.js';
import { TEST_PACKAGE_KEY } from '../support/package-key.js';

let stack: FleetUpgradeStack;
let template: Template;
let report: PolicyValidationPluginReport;

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };

beforeAll(() => {
  mkdirSync('.tmp', { recursive: true });
  const app = new App({ outdir: mkdtempSync(join('.tmp', 'cdk-nag-')), context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new FleetUpgradeStack(app, 'FleetUpgradeStack', {
    artifactBaseUrl: 'https://artifacts.example.com/app',
    packageSigningPublicKey: TEST_PACKAGE_KEY,
    approverEmails: ['ops@example.com'],
  });
  // Synthesize first: CDK adds some policies (grants, Distributed Map) while it prepares the tree.
  template = Template.fromStack(stack);
  report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
});

/** `AwsSolutions-IAM5[…] at Role/DefaultPolicy/Resource: why` — readable when a test fails. */
function findings(severity: string): string[] {
  return report.violations
    .filter((v) => v.severity === severity)
    .flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}: ${v.description}`));
}

function acknowledgements(): { path: string; id: string; reason: string }[] {
  return stack.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) =>
          Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason })),
        ),
    );
}

function statements(): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
}

const arn = (service: string, resource: string) => `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;

describe('cdk-nag AwsSolutions checks', () => {
  it('finds no unacknowledged error', () => {
    expect(findings('error')).toEqual([]);
  });

  it('finds no unacknowledged warning', () => {
    expect(findings('warning')).toEqual([]);
  });

  it('acknowledges findings one by one, each with a specific written reason', () => {
    const acks = acknowledgements();
    expect(acks.length).toBeGreaterThan(0);
    for (const { path, id, reason } of acks) {
      expect(id, path).toMatch(/^AwsSolutions-[A-Z]+[0-9]+/);
      expect(reason.length, `${id} at ${path}`).toBeGreaterThanOrEqual(60);
      // A wildcard is accepted one at a time, never IAM5 as a whole.
      if (id.startsWith('AwsSolutions-IAM5')) expect(id, path).toMatch(/^AwsSolutions-IAM5\[(Resource|Action)::.+\]$/);
    }
    // Never acknowledged for the whole stack: each sits on the construct that raises it.
    expect(acks.filter((a) => a.path === stack.node.path)).toEqual([]);
  });
});

describe('least privilege and data at rest', () => {
  it('lets SendCommand use only the stack document, and reach only instances tagged with the cluster tag', () => {
    const sendCommand = statements().filter((s) => [s.Action].flat().includes('ssm:SendCommand'));
    // run-step and run-stopped: a document statement and a node statement each.
    expect(sendCommand).toHaveLength(4);
    for (const s of sendCommand) {
      expect([s.Action].flat()).toEqual(['ssm:SendCommand']);
      const resources = [resolveIntrinsics(s.Resource)].flat().map(String).sort();
      if (resources.some((r) => r.startsWith(arn('ssm', 'document/')))) {
        expect(resources).toEqual([arn('ssm', `document/${String(stack.resolve((stack.document.node.defaultChild as CfnElement).logicalId))}`)]);
        expect(s.Condition).toBeUndefined();
      } else {
        expect(resources).toEqual([arn('ec2', 'instance/*'), arn('ssm', 'managed-instance/*')]);
        expect(s.Condition).toEqual({ StringLike: { [`ssm:resourceTag/${CLUSTER_TAG}`]: '*' } });
      }
    }
  });

  it('lets run-step find, reconcile and cancel the command of an earlier attempt (ListCommands, GetCommandInvocation, CancelCommand)', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([{ Effect: 'Allow', Action: ['ssm:GetCommandInvocation', 'ssm:CancelCommand', 'ssm:ListCommands'], Resource: '*' }]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^RunStepRole') }],
    });
  });

  it('puts "*" only on actions that have no resource-level permissions', () => {
    const star = statements()
      .filter((s) => s.Resource === '*')
      .flatMap((s) => [s.Action].flat());
    const allowed = [
      /^tag:GetResources$/,
      /^ssm:DescribeInstanceInformation$/,
      /^ssm:(GetCommandInvocation|CancelCommand|ListCommands)$/,
      /^cloudwatch:DescribeAlarms$/,
      /^xray:/,
      /^logs:(Create|Get|Update|Delete|List)LogDeliver(y|ies)$/,
      /^logs:(PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$/,
    ];
    for (const action of star)
      expect(
        allowed.some((a) => a.test(action)),
        action,
      ).toBe(true);
  });

  it('encrypts the table, the topic and the link-key secret with one customer-managed key that rotates', () => {
    const keys = template.findResources('AWS::KMS::Key');
    expect(Object.keys(keys)).toHaveLength(1);
    const [keyId, key] = Object.entries(keys)[0] as [string, { Properties: { EnableKeyRotation: boolean }; DeletionPolicy: string }];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    const keyArn = { 'Fn::GetAtt': [keyId, 'Arn'] };
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn } });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: keyArn });
  });

  it("keeps every log group for a set time, the state machine's and the approval API's access log included", () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup')) as { Properties: { RetentionInDays?: number } }[];
    // Beside the functions': the two state machines', the approval API's access log, the steps' command output.
    expect(groups.length).toBe(Object.keys(stack.functions).length + 4);
    for (const g of groups) expect(g.Properties.RetentionInDays).toBeGreaterThan(0);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
      TracingConfiguration: { Enabled: true },
    });
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0] as { Properties: { AccessLogSettings?: { Format: string } } };
    expect(JSON.parse(stage.Properties.AccessLogSettings?.Format ?? '{}')).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey' });
    // The link's query string (approval id, expiry, signature) never reaches the log.
    expect(stage.Properties.AccessLogSettings?.Format).not.toMatch(/path|querystring|requestOverride/i);
  });
});

describe('cdk-nag with approval sign-in configured', () => {
  it.each([
    ['a complete secret ARN', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:fleet-upgrade/oidc-client-AbCdEf'],
    ['a partial secret ARN', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:fleet-upgrade/oidc-client'],
  ])('finds nothing unacknowledged with %s, and says the page signs people in', (_what, clientSecretArn) => {
    const app = new App({ outdir: mkdtempSync(join('.tmp', 'cdk-nag-')), context: { 'aws:cdk:bundling-stacks': [] } });
    const signed = new FleetUpgradeStack(app, 'FleetUpgradeStack', {
      artifactBaseUrl: 'https://artifacts.example.com/app',
      packageSigningPublicKey: TEST_PACKAGE_KEY,
      approvalSignIn: { issuer: 'https://example.okta.com', clientId: 'page', clientSecretArn, approvers: 'group:ops' },
    });
    Template.fromStack(signed);
    const signedReport = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(signed);
    expect(signedReport.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`))).toEqual([]);
    const reasons = signed.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).map((m) => JSON.stringify(m.data)));
    expect(reasons.some((r) => r.includes('signed in with the company'))).toBe(true);
  });
});
