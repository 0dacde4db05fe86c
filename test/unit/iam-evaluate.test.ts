import { describe, expect, it } from 'vitest';
import { accessDeniedMessage, evaluate, type IamRequest, type NamedPolicy, type PolicyStatement } from '../../local/iam/evaluate.js';
import { UnsupportedPolicyError } from '../../local/iam/errors.js';

// Cases follow the IAM User Guide (docs.aws.amazon.com/IAM/latest/UserGuide/…):
const EVALUATION = 'reference_policies_evaluation-logic.html';
const DENY_ALLOW = 'reference_policies_evaluation-logic_policy-eval-denyallow.html';
const RESOURCE = 'reference_policies_elements_resource.html';
const OPERATORS = 'reference_policies_elements_condition_operators.html';
const MULTIPLE = 'reference_policies_condition-logic-multiple-context-keys-or-values.html';
const MULTIVALUED = 'reference_policies_condition-single-vs-multi-valued-context-keys.html';

const TABLE = 'arn:aws:dynamodb:us-east-1:123456789012:table/fleet';
const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:FleetUpgrade';
const INSTANCE = 'arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0';

const policy = (...Statement: PolicyStatement[]): NamedPolicy[] => [{ name: 'Policy', document: { Version: '2012-10-17', Statement } }];
const allow = (Action: string | string[], Resource: string | string[], Condition?: PolicyStatement['Condition']): PolicyStatement => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...(Condition ? { Condition } : {}),
});
const decide = (request: IamRequest, policies: NamedPolicy[]) => evaluate(request, policies).decision;

describe(`evaluation logic (${EVALUATION}, ${DENY_ALLOW})`, () => {
  it('denies implicitly when no policy applies', () => {
    expect(evaluate({ action: 'dynamodb:GetItem', resource: TABLE }, [])).toMatchObject({
      decision: 'ImplicitDeny',
      reason: `no statement allows dynamodb:GetItem on ${TABLE}`,
    });
  });

  it('allows when a statement matches action and resource, and names that statement', () => {
    const result = evaluate({ action: 'dynamodb:GetItem', resource: TABLE }, policy(allow('dynamodb:GetItem', TABLE)));
    expect(result).toMatchObject({ decision: 'Allow', matchedStatement: { policy: 'Policy', index: 0 } });
  });

  it('lets an explicit deny override an allow, whichever policy holds either', () => {
    const policies: NamedPolicy[] = [
      { name: 'Grants', document: { Statement: [allow('dynamodb:*', TABLE)] } },
      { name: 'Guard', document: { Statement: { Sid: 'NoDelete', Effect: 'Deny', Action: 'dynamodb:DeleteItem', Resource: '*' } } },
    ];
    expect(evaluate({ action: 'dynamodb:DeleteItem', resource: TABLE }, policies)).toMatchObject({
      decision: 'ExplicitDeny',
      matchedStatement: { policy: 'Guard', sid: 'NoDelete' },
      reason: 'explicitly denied by Guard statement NoDelete',
    });
    expect(decide({ action: 'dynamodb:PutItem', resource: TABLE }, policies)).toBe('Allow');
  });

  it('ignores a deny whose resource does not match', () => {
    const policies = policy(allow('dynamodb:GetItem', '*'), { Effect: 'Deny', Action: 'dynamodb:GetItem', Resource: `${TABLE}-other` });
    expect(decide({ action: 'dynamodb:GetItem', resource: TABLE }, policies)).toBe('Allow');
  });

  it('words a denial as AWS does in AccessDeniedException', () => {
    const request = { action: 'ssm:SendCommand', resource: INSTANCE };
    const principal = 'arn:aws:sts::123456789012:assumed-role/RunStepRole/RunStepFunction';
    expect(accessDeniedMessage(principal, request, evaluate(request, []))).toBe(
      `User: ${principal} is not authorized to perform: ssm:SendCommand on resource: ${INSTANCE} because no identity-based policy allows the ssm:SendCommand action`,
    );
    const denied = evaluate(request, policy({ Effect: 'Deny', Action: '*', Resource: '*' }));
    expect(accessDeniedMessage(principal, request, denied)).toMatch(/with an explicit deny in an identity-based policy$/);
  });
});

describe('Action and NotAction (reference_policies_elements_action.html, reference_policies_elements_notaction.html)', () => {
  it('matches action names case-insensitively', () => {
    expect(decide({ action: 'SSM:sendcommand', resource: '*' }, policy(allow('ssm:SendCommand', '*')))).toBe('Allow');
  });

  it('matches * and ? wildcards in action names', () => {
    const policies = policy(allow(['dynamodb:Get*', 'kms:ReEncrypt*', 'ssm:?etCommandInvocation'], '*'));
    expect(decide({ action: 'dynamodb:GetItem', resource: '*' }, policies)).toBe('Allow');
    expect(decide({ action: 'kms:ReEncryptFrom', resource: '*' }, policies)).toBe('Allow');
    expect(decide({ action: 'ssm:GetCommandInvocation', resource: '*' }, policies)).toBe('Allow');
    expect(decide({ action: 'dynamodb:PutItem', resource: '*' }, policies)).toBe('ImplicitDeny');
    expect(decide({ action: 'ssm:SendCommand', resource: '*' }, policies)).toBe('ImplicitDeny');
  });

  it('with NotAction, allows every action but those listed', () => {
    const policies = policy({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' });
    expect(decide({ action: 's3:GetObject', resource: '*' }, policies)).toBe('Allow');
    expect(decide({ action: 'iam:CreateUser', resource: '*' }, policies)).toBe('ImplicitDeny');
  });

  it('with NotAction in a Deny, denies everything outside the list', () => {
    const policies = policy(allow('*', '*'), { Effect: 'Deny', NotAction: ['dynamodb:GetItem', 'dynamodb:Query'], Resource: '*' });
    expect(decide({ action: 'dynamodb:Query', resource: TABLE }, policies)).toBe('Allow');
    expect(decide({ action: 'dynamodb:PutItem', resource: TABLE }, policies)).toBe('ExplicitDeny');
  });
});

describe(`Resource and NotResource (${RESOURCE})`, () => {
  it('matches resource ARNs case-sensitively', () => {
    expect(decide({ action: 'dynamodb:GetItem', resource: TABLE.replace('fleet', 'Fleet') }, policy(allow('dynamodb:GetItem', TABLE)))).toBe('ImplicitDeny');
  });

  it('matches every resource with "*"', () => {
    expect(decide({ action: 'tag:GetResources', resource: '*' }, policy(allow('tag:GetResources', '*')))).toBe('Allow');
    expect(decide({ action: 'ssm:ListCommands', resource: INSTANCE }, policy(allow('ssm:ListCommands', '*')))).toBe('Allow');
  });

  it('tells a state machine from its Distributed Map children (`<machine>/<label>`)', () => {
    const bare = policy(allow('states:SendTaskSuccess', MACHINE));
    const both = policy(allow('states:SendTaskSuccess', [MACHINE, `${MACHINE}/*`]));
    const child = `${MACHINE}/UpgradeNodes`;
    expect(decide({ action: 'states:SendTaskSuccess', resource: MACHINE }, bare)).toBe('Allow');
    expect(decide({ action: 'states:SendTaskSuccess', resource: child }, bare)).toBe('ImplicitDeny');
    expect(decide({ action: 'states:SendTaskSuccess', resource: child }, both)).toBe('Allow');
    expect(decide({ action: 'states:SendTaskSuccess', resource: `${MACHINE}Other` }, both)).toBe('ImplicitDeny');
  });

  it('lets a * that ends a segment reach past colons, and keeps one inside a segment within it', () => {
    const logs = policy(allow('logs:PutLogEvents', 'arn:aws:logs:us-east-1:123456789012:log-group:RunStepLogs:*'));
    expect(decide({ action: 'logs:PutLogEvents', resource: 'arn:aws:logs:us-east-1:123456789012:log-group:RunStepLogs:log-stream:2026/11/29/abc' }, logs)).toBe(
      'Allow',
    );
    const inner = policy(allow('logs:PutLogEvents', 'arn:aws:logs:us-east-1:123456789012:log-group:a*z'));
    expect(decide({ action: 'logs:PutLogEvents', resource: 'arn:aws:logs:us-east-1:123456789012:log-group:abcz' }, inner)).toBe('Allow');
    expect(decide({ action: 'logs:PutLogEvents', resource: 'arn:aws:logs:us-east-1:123456789012:log-group:a:b:z' }, inner)).toBe('ImplicitDeny');
  });

  it('matches ? as exactly one character', () => {
    const policies = policy(allow('ec2:DescribeInstances', 'arn:aws:ec2:us-east-?:123456789012:instance/*'));
    expect(decide({ action: 'ec2:DescribeInstances', resource: INSTANCE }, policies)).toBe('Allow');
    expect(decide({ action: 'ec2:DescribeInstances', resource: INSTANCE.replace('us-east-1', 'us-east-10') }, policies)).toBe('ImplicitDeny');
  });

  it('with NotResource, applies to every resource but those listed', () => {
    const policies = policy({ Effect: 'Allow', Action: 'dynamodb:GetItem', NotResource: TABLE });
    expect(decide({ action: 'dynamodb:GetItem', resource: `${TABLE}-other` }, policies)).toBe('Allow');
    expect(decide({ action: 'dynamodb:GetItem', resource: TABLE }, policies)).toBe('ImplicitDeny');
  });
});

describe(`condition operators (${OPERATORS})`, () => {
  const tagged = policy(
    allow('ssm:SendCommand', 'arn:aws:ec2:us-east-1:123456789012:instance/*', { StringLike: { 'ssm:resourceTag/fleet-upgrade:cluster': '*' } }),
  );

  it('StringLike "*" on ssm:resourceTag/… holds for any value of the tag, even an empty one', () => {
    expect(decide({ action: 'ssm:SendCommand', resource: INSTANCE, context: { 'ssm:resourceTag/fleet-upgrade:cluster': 'demo' } }, tagged)).toBe('Allow');
    expect(decide({ action: 'ssm:SendCommand', resource: INSTANCE, context: { 'ssm:resourceTag/fleet-upgrade:cluster': '' } }, tagged)).toBe('Allow');
  });

  it('a condition on a key absent from the request is false, and the denial says which condition failed', () => {
    const result = evaluate({ action: 'ssm:SendCommand', resource: INSTANCE, context: { 'ssm:resourceTag/Name': 'web' } }, tagged);
    expect(result.decision).toBe('ImplicitDeny');
    expect(result.reason).toContain('StringLike ssm:resourceTag/fleet-upgrade:cluster (key absent from the request)');
  });

  it('a negated operator on an absent key is true (StringNotEquals, ArnNotLike)', () => {
    const policies = policy(
      allow('s3:GetObject', '*', { StringNotEquals: { 'aws:PrincipalTag/team': 'blue' }, ArnNotLike: { 'aws:SourceArn': 'arn:aws:sns:*:*:*' } }),
    );
    expect(decide({ action: 's3:GetObject', resource: '*' }, policies)).toBe('Allow');
    expect(decide({ action: 's3:GetObject', resource: '*', context: { 'aws:PrincipalTag/team': 'blue' } }, policies)).toBe('ImplicitDeny');
  });

  it('…IfExists holds when the key is absent and tests the value when present', () => {
    const policies = policy(allow('ec2:RunInstances', '*', { StringEqualsIfExists: { 'ec2:InstanceType': 't3.micro' } }));
    expect(decide({ action: 'ec2:RunInstances', resource: '*' }, policies)).toBe('Allow');
    expect(decide({ action: 'ec2:RunInstances', resource: '*', context: { 'ec2:InstanceType': 't3.micro' } }, policies)).toBe('Allow');
    expect(decide({ action: 'ec2:RunInstances', resource: '*', context: { 'ec2:InstanceType': 'm5.24xlarge' } }, policies)).toBe('ImplicitDeny');
  });

  it('Null "true" asks that the key be absent, "false" that it be present', () => {
    const absent = policy(allow('ec2:RunInstances', '*', { Null: { 'aws:TokenIssueTime': 'true' } }));
    const present = policy(allow('ec2:RunInstances', '*', { Null: { 'aws:TokenIssueTime': false } }));
    const withKey = { action: 'ec2:RunInstances', resource: '*', context: { 'aws:TokenIssueTime': '2026-11-29T00:00:00Z' } };
    expect(decide({ action: 'ec2:RunInstances', resource: '*' }, absent)).toBe('Allow');
    expect(decide(withKey, absent)).toBe('ImplicitDeny');
    expect(decide(withKey, present)).toBe('Allow');
    expect(decide({ action: 'ec2:RunInstances', resource: '*' }, present)).toBe('ImplicitDeny');
  });

  it('StringEquals is case-sensitive, StringEqualsIgnoreCase is not', () => {
    const exact = policy(allow('kms:Decrypt', '*', { StringEquals: { 'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com' } }));
    const loose = policy(allow('kms:Decrypt', '*', { StringEqualsIgnoreCase: { 'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com' } }));
    const request = { action: 'kms:Decrypt', resource: '*', context: { 'kms:ViaService': 'DynamoDB.us-east-1.amazonaws.com' } };
    expect(decide(request, exact)).toBe('ImplicitDeny');
    expect(decide(request, loose)).toBe('Allow');
    expect(decide({ ...request, context: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } }, loose)).toBe('ImplicitDeny');
  });

  it('StringLike matches * and ?; StringNotLike is its negation', () => {
    const like = policy(allow('s3:GetObject', '*', { StringLike: { 'aws:userid': 'AIDA?*:ops-*' } }));
    const notLike = policy(allow('s3:GetObject', '*', { StringNotLike: { 'aws:userid': 'AIDA?*:ops-*' } }));
    expect(decide({ action: 's3:GetObject', resource: '*', context: { 'aws:userid': 'AIDAX:ops-anna' } }, like)).toBe('Allow');
    expect(decide({ action: 's3:GetObject', resource: '*', context: { 'aws:userid': 'AIDA:ops-anna' } }, like)).toBe('ImplicitDeny');
    expect(decide({ action: 's3:GetObject', resource: '*', context: { 'aws:userid': 'AIDAX:dev-bo' } }, notLike)).toBe('Allow');
  });

  it('ArnLike and ArnEquals match segment by segment with wildcards; a value that is no ARN never matches', () => {
    for (const op of ['ArnLike', 'ArnEquals']) {
      const policies = policy(allow('sts:AssumeRole', '*', { [op]: { 'aws:SourceArn': 'arn:aws:states:us-east-1:123456789012:stateMachine:*' } }));
      expect(decide({ action: 'sts:AssumeRole', resource: '*', context: { 'aws:SourceArn': MACHINE } }, policies), op).toBe('Allow');
      expect(decide({ action: 'sts:AssumeRole', resource: '*', context: { 'aws:SourceArn': MACHINE.replace('us-east-1', 'eu-west-1') } }, policies), op).toBe(
        'ImplicitDeny',
      );
      expect(decide({ action: 'sts:AssumeRole', resource: '*', context: { 'aws:SourceArn': 'stateMachine:FleetUpgrade' } }, policies), op).toBe('ImplicitDeny');
    }
  });

  it('Bool compares true/false whatever their JSON type', () => {
    const policies = policy(
      { Effect: 'Deny', Action: 'sns:Publish', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
      allow('sns:Publish', '*'),
    );
    expect(decide({ action: 'sns:Publish', resource: '*', context: { 'aws:SecureTransport': false } }, policies)).toBe('ExplicitDeny');
    expect(decide({ action: 'sns:Publish', resource: '*', context: { 'aws:SecureTransport': true } }, policies)).toBe('Allow');
  });

  it('Numeric operators compare numbers, and a value that is no number never matches', () => {
    const policies = policy(allow('s3:ListBucket', '*', { NumericLessThanEquals: { 's3:max-keys': '10' }, NumericGreaterThan: { 's3:max-keys': 0 } }));
    expect(decide({ action: 's3:ListBucket', resource: '*', context: { 's3:max-keys': 10 } }, policies)).toBe('Allow');
    expect(decide({ action: 's3:ListBucket', resource: '*', context: { 's3:max-keys': '11' } }, policies)).toBe('ImplicitDeny');
    expect(decide({ action: 's3:ListBucket', resource: '*', context: { 's3:max-keys': 'ten' } }, policies)).toBe('ImplicitDeny');
  });

  it('Date operators compare ISO 8601 dates and epoch seconds', () => {
    const policies = policy(allow('s3:GetObject', '*', { DateLessThan: { 'aws:CurrentTime': '2027-01-01T00:00:00Z' } }));
    expect(decide({ action: 's3:GetObject', resource: '*', context: { 'aws:CurrentTime': '2026-11-29T12:00:00Z' } }, policies)).toBe('Allow');
    expect(
      decide({ action: 's3:GetObject', resource: '*', context: { 'aws:EpochTime': 0, 'aws:CurrentTime': String(Date.UTC(2027, 5, 1) / 1000) } }, policies),
    ).toBe('ImplicitDeny');
  });

  it('reads condition key names case-insensitively', () => {
    expect(decide({ action: 'ssm:SendCommand', resource: INSTANCE, context: { 'SSM:ResourceTag/fleet-upgrade:cluster': 'demo' } }, tagged)).toBe('Allow');
  });
});

describe(`conditions with multiple keys or values (${MULTIPLE})`, () => {
  const request = (context: IamRequest['context']): IamRequest => ({ action: 'kms:Decrypt', resource: '*', context });

  it('ORs the values of one key', () => {
    const policies = policy(
      allow('kms:Decrypt', '*', { StringEquals: { 'kms:ViaService': ['dynamodb.us-east-1.amazonaws.com', 'sns.us-east-1.amazonaws.com'] } }),
    );
    expect(decide(request({ 'kms:ViaService': 'sns.us-east-1.amazonaws.com' }), policies)).toBe('Allow');
    expect(decide(request({ 'kms:ViaService': 'ssm.us-east-1.amazonaws.com' }), policies)).toBe('ImplicitDeny');
  });

  it('ANDs the keys of one operator, and the operators of one block', () => {
    const policies = policy(
      allow('kms:Decrypt', '*', {
        StringEquals: { 'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com', 'kms:CallerAccount': '123456789012' },
        Bool: { 'aws:SecureTransport': 'true' },
      }),
    );
    const all = { 'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com', 'kms:CallerAccount': '123456789012', 'aws:SecureTransport': 'true' };
    expect(decide(request(all), policies)).toBe('Allow');
    expect(decide(request({ ...all, 'kms:CallerAccount': '210987654321' }), policies)).toBe('ImplicitDeny');
    expect(decide(request({ ...all, 'aws:SecureTransport': 'false' }), policies)).toBe('ImplicitDeny');
  });

  it('NORs the values of a negated operator', () => {
    const policies = policy(allow('kms:Decrypt', '*', { StringNotEquals: { 'kms:ViaService': ['a.amazonaws.com', 'b.amazonaws.com'] } }));
    expect(decide(request({ 'kms:ViaService': 'a.amazonaws.com' }), policies)).toBe('ImplicitDeny');
    expect(decide(request({ 'kms:ViaService': 'b.amazonaws.com' }), policies)).toBe('ImplicitDeny');
    expect(decide(request({ 'kms:ViaService': 'c.amazonaws.com' }), policies)).toBe('Allow');
  });
});

describe(`set operators on multivalued keys (${MULTIVALUED})`, () => {
  const approvals = policy(
    allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], TABLE, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APPROVAL#*', 'APPROVALS#PENDING'] } }),
  );
  const item = (leadingKeys: readonly string[] | undefined): IamRequest => ({
    action: 'dynamodb:UpdateItem',
    resource: TABLE,
    context: { 'dynamodb:LeadingKeys': leadingKeys },
  });

  it('ForAllValues holds when every request value matches one of the policy values', () => {
    expect(decide(item(['APPROVAL#a1']), approvals)).toBe('Allow');
    expect(decide(item(['APPROVALS#PENDING']), approvals)).toBe('Allow');
    expect(decide(item(['APPROVAL#a1', 'APPROVALS#PENDING']), approvals)).toBe('Allow');
    expect(decide(item(['APPROVAL#a1', 'RUN#r1']), approvals)).toBe('ImplicitDeny');
    expect(decide(item(['CLUSTER#demo']), approvals)).toBe('ImplicitDeny');
  });

  it('ForAllValues is true for an empty or absent key (why a Null check often goes with it)', () => {
    expect(decide(item([]), approvals)).toBe('Allow');
    expect(decide(item(undefined), approvals)).toBe('Allow');
  });

  it('ForAnyValue holds when one request value matches, and is false for an empty or absent key', () => {
    const any = policy(allow('dynamodb:Query', TABLE, { 'ForAnyValue:StringEquals': { 'dynamodb:LeadingKeys': 'APPROVALS#PENDING' } }));
    expect(decide({ ...item(['RUN#r1', 'APPROVALS#PENDING']), action: 'dynamodb:Query' }, any)).toBe('Allow');
    expect(decide({ ...item(['RUN#r1']), action: 'dynamodb:Query' }, any)).toBe('ImplicitDeny');
    expect(decide({ ...item([]), action: 'dynamodb:Query' }, any)).toBe('ImplicitDeny');
    expect(decide({ ...item(undefined), action: 'dynamodb:Query' }, any)).toBe('ImplicitDeny');
  });

  it('ForAllValues with a negated operator holds when no request value matches any policy value', () => {
    const deny = policy(allow('iam:TagRole', '*'), {
      Effect: 'Deny',
      Action: 'iam:TagRole',
      Resource: '*',
      Condition: { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'key1*' } },
    });
    const tag = (keys: string[]): IamRequest => ({ action: 'iam:TagRole', resource: '*', context: { 'aws:TagKeys': keys } });
    expect(decide(tag(['other']), deny)).toBe('ExplicitDeny');
    expect(decide(tag(['key1-a', 'key1-b']), deny)).toBe('Allow');
    expect(decide(tag(['key1-a', 'other']), deny)).toBe('Allow');
  });
});

describe('what the evaluator refuses to guess', () => {
  const request = { action: 's3:GetObject', resource: 'arn:aws:s3:::bucket/home/anna' };

  it('refuses policy variables', () => {
    expect(() => evaluate(request, policy(allow('s3:GetObject', 'arn:aws:s3:::bucket/home/${aws:username}')))).toThrow(UnsupportedPolicyError);
  });

  it('refuses operators it does not implement', () => {
    expect(() => evaluate(request, policy(allow('s3:GetObject', '*', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } })))).toThrow(
      /IpAddress is not supported/,
    );
    expect(() => evaluate(request, policy(allow('s3:GetObject', '*', { 'ForEachValue:StringLike': { 'aws:TagKeys': '*' } })))).toThrow(/ForEachValue/);
  });

  it('refuses a statement without Resource, or with both Action and NotAction', () => {
    expect(() => evaluate(request, policy({ Effect: 'Allow', Action: 's3:GetObject' }))).toThrow(/Resource and NotResource/);
    expect(() => evaluate(request, policy({ Effect: 'Allow', Action: 's3:*', NotAction: 's3:PutObject', Resource: '*' }))).toThrow(/Action and NotAction/);
  });
});
