import { mkdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_METADATA_KEY } from '../../lib/fleet-upgrade-stack.js';
import { STATE_MACHINE_METADATA_KEY } from '../../lib/stopped-run-cleanup.js';
import { evaluate, type IamRequest } from '../../local/iam/evaluate.js';
import { UnresolvableTemplateValueError } from '../../local/iam/errors.js';
import { assumedRoleArn, policiesOf, templatePolicies, type TemplatePolicies } from '../../local/iam/template-policies.js';
import { LOCAL_ACCOUNT, LOCAL_REGION, localArns } from '../../local/state-machine-runner.js';
import { synthesizeTemplate, type CfnTemplate } from '../../local/template.js';

// The synthesized stack's roles, read as the rehearsal will read them, judged by the evaluator.
let template: CfnTemplate;
let policies: TemplatePolicies;
/** Handler name (`run-step`) → function logical id. */
const functions = new Map<string, string>();
let tableArn: string;
let machineArn: string;
let documentArn: string;

const INSTANCE = `arn:aws:ec2:${LOCAL_REGION}:${LOCAL_ACCOUNT}:instance/i-0123456789abcdef0`;
const CLUSTER_TAG = 'ssm:resourceTag/fleet-upgrade:cluster';

function logicalIdOfType(type: string): string {
  // The upgrade state machine, not the cleanup one.
  const found = Object.entries(template.Resources).find(([, r]) => r.Type === type && r.Metadata?.[STATE_MACHINE_METADATA_KEY] !== 'cleanup');
  if (!found) throw new Error(`no ${type} in the template`);
  return found[0];
}

function cleanupMachineId(): string {
  const found = Object.entries(template.Resources).find(([, r]) => r.Metadata?.[STATE_MACHINE_METADATA_KEY] === 'cleanup');
  if (!found) throw new Error('no cleanup state machine in the template');
  return found[0];
}

/** The decision for a call of the named handler (or of the state machine, by its logical id). */
function as(principal: string, request: IamRequest) {
  return evaluate(request, policiesOf(policies, functions.get(principal) ?? principal));
}

beforeAll(async () => {
  mkdirSync('.tmp', { recursive: true });
  template = await synthesizeTemplate();
  for (const [id, r] of Object.entries(template.Resources)) {
    const name = r.Metadata?.[HANDLER_METADATA_KEY];
    if (r.Type === 'AWS::Lambda::Function' && typeof name === 'string') functions.set(name, id);
  }
  const names = {
    [logicalIdOfType('AWS::DynamoDB::Table')]: 'fleet-upgrade-rehearsal',
    [logicalIdOfType('AWS::SSM::Document')]: 'fleet-upgrade-runbook',
    [logicalIdOfType('AWS::StepFunctions::StateMachine')]: 'FleetUpgrade',
    [cleanupMachineId()]: 'FleetUpgradeCleanup',
  };
  policies = templatePolicies(template, { account: LOCAL_ACCOUNT, region: LOCAL_REGION, names });
  tableArn = `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/fleet-upgrade-rehearsal`;
  machineArn = localArns('FleetUpgrade').stateMachine;
  documentArn = `arn:aws:ssm:${LOCAL_REGION}:${LOCAL_ACCOUNT}:document/fleet-upgrade-runbook`;
});

describe("the template's policies, read for the rehearsal", () => {
  it('finds a role with policies for every handler and for the state machine', () => {
    expect([...functions.keys()].sort()).toEqual([
      'approval-page',
      'clean-up-run',
      'command-finished',
      'lock',
      'plan',
      'record-node',
      'remind-approvers',
      'request-approval',
      'run-step',
      'run-stopped',
      'summarize',
      'validate-input',
    ]);
    for (const id of functions.values()) expect(policiesOf(policies, id).length, id).toBeGreaterThan(0);
    expect(Object.keys(policies.stateMachineRoles).sort()).toEqual([logicalIdOfType('AWS::StepFunctions::StateMachine'), cleanupMachineId()].sort());
  });

  it('resolves every policy to plain ARNs of the local account and region (table, state machine, `${arn}/*`, Fn::Join, Fn::Select/Split)', () => {
    const text = JSON.stringify(policies.roles);
    expect(text).not.toMatch(/"(Ref|Fn::[A-Za-z]+)"/);
    expect(text).toContain(`"${tableArn}"`);
    expect(text).toContain(`"${machineArn}/*"`);
    expect(text).toContain(`"${documentArn}"`);
    // The Distributed Map policy's Fn::Select(6, Fn::Split(':', stateMachineArn)) gives the machine's name.
    expect(text).toContain(`"arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:FleetUpgrade:*"`);
    for (const [, r] of Object.entries(policies.resources)) expect(r.ref).not.toBe('');
  });

  it('names the role a denied call was made as, as AWS does', () => {
    const id = functions.get('run-step') as string;
    expect(assumedRoleArn(policies, id, LOCAL_ACCOUNT)).toMatch(new RegExp(`^arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/RunStepRole[A-Z0-9]+/${id}$`));
  });

  it('refuses a template whose policy names a resource it cannot stand in for', () => {
    const broken = structuredClone(template);
    const policyId = Object.keys(broken.Resources).find((id) => broken.Resources[id]?.Type === 'AWS::IAM::Policy') as string;
    (broken.Resources[policyId]?.Properties?.PolicyDocument as { Statement: unknown[] }).Statement.push({
      Effect: 'Allow',
      Action: 'x:Y',
      Resource: { 'Fn::GetAtt': ['Nowhere', 'Arn'] },
    });
    expect(() => templatePolicies(broken, { account: LOCAL_ACCOUNT, region: LOCAL_REGION })).toThrow(UnresolvableTemplateValueError);
  });
});

describe('what each principal of the synthesized stack may do', () => {
  it("run-step may send the stack's document to an instance tagged fleet-upgrade:cluster, whatever the value", () => {
    expect(as('run-step', { action: 'ssm:SendCommand', resource: documentArn }).decision).toBe('Allow');
    expect(as('run-step', { action: 'ssm:SendCommand', resource: INSTANCE, context: { [CLUSTER_TAG]: 'demo' } }).decision).toBe('Allow');
  });

  it('run-step may not send to an untagged instance, nor send another document', () => {
    const untagged = as('run-step', { action: 'ssm:SendCommand', resource: INSTANCE, context: { 'ssm:resourceTag/Name': 'web-1' } });
    expect(untagged.decision).toBe('ImplicitDeny');
    expect(untagged.reason).toContain(`StringLike ${CLUSTER_TAG} (key absent from the request)`);
    expect(as('run-step', { action: 'ssm:SendCommand', resource: `arn:aws:ssm:${LOCAL_REGION}::document/AWS-RunShellScript` }).decision).toBe('ImplicitDeny');
  });

  it('run-step may read, list and cancel commands (no resource-level permissions: "*")', () => {
    for (const action of ['ssm:GetCommandInvocation', 'ssm:ListCommands', 'ssm:CancelCommand'])
      expect(as('run-step', { action, resource: '*' }).decision, action).toBe('Allow');
  });

  it('run-stopped may start cleanup executions and nothing else of Step Functions; the cleanup machine may invoke clean-up-run only', () => {
    const cleanupArn = localArns('FleetUpgradeCleanup').stateMachine;
    expect(as('run-stopped', { action: 'states:StartExecution', resource: cleanupArn }).decision).toBe('Allow');
    expect(as('run-stopped', { action: 'states:StartExecution', resource: machineArn }).decision).toBe('ImplicitDeny');
    expect(as('run-stopped', { action: 'ssm:SendCommand', resource: documentArn }).decision).toBe('ImplicitDeny');
    const fnArn = (name: string) => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${functions.get(name) ?? ''}`;
    expect(as(cleanupMachineId(), { action: 'lambda:InvokeFunction', resource: fnArn('clean-up-run') }).decision).toBe('Allow');
    expect(as(cleanupMachineId(), { action: 'lambda:InvokeFunction', resource: fnArn('run-step') }).decision).toBe('ImplicitDeny');
  });

  it('validate-input has no DynamoDB access', () => {
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'])
      expect(as('validate-input', { action, resource: tableArn }).decision, action).toBe('ImplicitDeny');
  });

  it('the handlers that keep records may read and write the table, and no other table', () => {
    for (const handler of ['lock', 'plan', 'run-step', 'command-finished', 'record-node', 'summarize', 'request-approval', 'run-stopped', 'clean-up-run']) {
      for (const action of [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
        'dynamodb:BatchWriteItem',
      ]) {
        expect(as(handler, { action, resource: tableArn }).decision, `${handler} ${action}`).toBe('Allow');
      }
      expect(as(handler, { action: 'dynamodb:GetItem', resource: `${tableArn}-other` }).decision, handler).toBe('ImplicitDeny');
    }
  });

  it('approval-page may answer the task of the execution and of Distributed Map children (`<machine>/<label>`)', () => {
    expect(as('approval-page', { action: 'states:SendTaskSuccess', resource: machineArn }).decision).toBe('Allow');
    expect(as('approval-page', { action: 'states:SendTaskSuccess', resource: `${machineArn}/UpgradeNodes` }).decision).toBe('Allow');
    expect(as('approval-page', { action: 'states:SendTaskFailure', resource: machineArn }).decision).toBe('ImplicitDeny');
  });

  it('approval-page may touch approval items only (dynamodb:LeadingKeys), and never query', () => {
    const item = (action: string, keys: string[]): IamRequest => ({ action, resource: tableArn, context: { 'dynamodb:LeadingKeys': keys } });
    expect(as('approval-page', item('dynamodb:GetItem', ['APPROVAL#a1'])).decision).toBe('Allow');
    expect(as('approval-page', item('dynamodb:UpdateItem', ['APPROVAL#a1'])).decision).toBe('Allow');
    expect(as('approval-page', item('dynamodb:DeleteItem', ['APPROVALS#PENDING'])).decision).toBe('Allow');
    expect(as('approval-page', item('dynamodb:GetItem', ['RUN#r1'])).decision).toBe('ImplicitDeny');
    expect(as('approval-page', item('dynamodb:UpdateItem', ['CLUSTER#demo'])).decision).toBe('ImplicitDeny');
    expect(as('approval-page', item('dynamodb:Query', ['APPROVALS#PENDING'])).decision).toBe('ImplicitDeny');
  });

  it('approval-page may use the data key only through DynamoDB (kms:ViaService)', () => {
    const keyArn = policies.resources[logicalIdOfType('AWS::KMS::Key')]?.attributes.Arn as string;
    expect(
      as('approval-page', { action: 'kms:Decrypt', resource: keyArn, context: { 'kms:ViaService': `dynamodb.${LOCAL_REGION}.amazonaws.com` } }).decision,
    ).toBe('Allow');
    expect(as('approval-page', { action: 'kms:Decrypt', resource: keyArn }).decision).toBe('ImplicitDeny');
  });

  it('command-finished may answer the task of the execution', () => {
    for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure'])
      expect(as('command-finished', { action, resource: machineArn }).decision, action).toBe('Allow');
  });

  it('request-approval may publish to the operator topic and read the link key', () => {
    const topic = policies.resources[logicalIdOfType('AWS::SNS::Topic')]?.ref as string;
    const secret = policies.resources[logicalIdOfType('AWS::SecretsManager::Secret')]?.ref as string;
    expect(topic).toMatch(/^arn:aws:sns:/);
    expect(as('request-approval', { action: 'sns:Publish', resource: topic }).decision).toBe('Allow');
    expect(as('request-approval', { action: 'secretsmanager:GetSecretValue', resource: secret }).decision).toBe('Allow');
    expect(as('run-step', { action: 'sns:Publish', resource: topic }).decision).toBe('ImplicitDeny');
  });

  it('remind-approvers may list waiting approvals, read and record on approval items, publish and read the link key; nothing else', () => {
    const item = (action: string, keys: string[]): IamRequest => ({ action, resource: tableArn, context: { 'dynamodb:LeadingKeys': keys } });
    expect(as('remind-approvers', item('dynamodb:Query', ['APPROVALS#PENDING'])).decision).toBe('Allow');
    expect(as('remind-approvers', item('dynamodb:GetItem', ['APPROVAL#a1'])).decision).toBe('Allow');
    expect(as('remind-approvers', item('dynamodb:UpdateItem', ['APPROVAL#a1'])).decision).toBe('Allow');
    for (const [action, key] of [
      ['dynamodb:Query', 'RUN#r1'],
      ['dynamodb:GetItem', 'CLUSTER#demo'],
      ['dynamodb:PutItem', 'APPROVAL#a1'],
      ['dynamodb:DeleteItem', 'APPROVALS#PENDING'],
      ['dynamodb:UpdateItem', 'APPROVALS#PENDING'],
    ] as const) {
      expect(as('remind-approvers', item(action, [key])).decision, `${action} ${key}`).toBe('ImplicitDeny');
    }
    const topic = policies.resources[logicalIdOfType('AWS::SNS::Topic')]?.ref as string;
    const secret = policies.resources[logicalIdOfType('AWS::SecretsManager::Secret')]?.ref as string;
    expect(as('remind-approvers', { action: 'sns:Publish', resource: topic }).decision).toBe('Allow');
    expect(as('remind-approvers', { action: 'secretsmanager:GetSecretValue', resource: secret }).decision).toBe('Allow');
    expect(as('remind-approvers', { action: 'states:SendTaskSuccess', resource: machineArn }).decision).toBe('ImplicitDeny');
  });

  it('plan may discover nodes by tag, and check listed nodes with the same GetResources and nothing more', () => {
    for (const action of ['tag:GetResources', 'ssm:DescribeInstanceInformation']) expect(as('plan', { action, resource: '*' }).decision, action).toBe('Allow');
    // The other ways to read an instance's tags are not granted: GetResources already answers for EC2 and hybrid instances.
    for (const action of ['ec2:DescribeTags', 'ssm:ListTagsForResource', 'ec2:DescribeInstances'])
      expect(as('plan', { action, resource: '*' }).decision, action).toBe('ImplicitDeny');
  });

  it('record-node may read alarm states for the health gates (DescribeAlarms on "*"), and change no alarm; no other function may read them', () => {
    expect(as('record-node', { action: 'cloudwatch:DescribeAlarms', resource: '*' }).decision).toBe('Allow');
    for (const action of ['cloudwatch:SetAlarmState', 'cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms'])
      expect(as('record-node', { action, resource: '*' }).decision, action).toBe('ImplicitDeny');
    for (const name of ['run-step', 'plan', 'request-approval'])
      expect(as(name, { action: 'cloudwatch:DescribeAlarms', resource: '*' }).decision, name).toBe('ImplicitDeny');
  });

  it('each function may write to its own log group only', () => {
    const stream = (group: string) => `arn:aws:logs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:log-group:${group}:log-stream:2026/11/29/[$LATEST]abc`;
    const own = Object.keys(template.Resources).find((id) => id.startsWith('RunStepLogs')) as string;
    const other = Object.keys(template.Resources).find((id) => id.startsWith('LockLogs')) as string;
    expect(as('run-step', { action: 'logs:PutLogEvents', resource: stream(own) }).decision).toBe('Allow');
    expect(as('run-step', { action: 'logs:PutLogEvents', resource: stream(other) }).decision).toBe('ImplicitDeny');
  });

  it('the state machine may invoke every function its definition calls, and no other', () => {
    const machine = logicalIdOfType('AWS::StepFunctions::StateMachine');
    const definition = JSON.stringify(template.Resources[machine]?.Properties?.DefinitionString);
    const called = [...functions.entries()].filter(([, id]) => definition.includes(`"${id}"`));
    expect(called.map(([name]) => name).sort()).toEqual(['lock', 'plan', 'record-node', 'request-approval', 'run-step', 'summarize', 'validate-input']);
    for (const [name, id] of functions) {
      const request = { action: 'lambda:InvokeFunction', resource: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${id}` };
      expect(as(machine, request).decision, name).toBe(called.some(([n]) => n === name) ? 'Allow' : 'ImplicitDeny');
    }
  });

  it('the state machine may start its own Distributed Map children and stop their executions', () => {
    const machine = logicalIdOfType('AWS::StepFunctions::StateMachine');
    expect(as(machine, { action: 'states:StartExecution', resource: machineArn }).decision).toBe('Allow');
    expect(
      as(machine, { action: 'states:StopExecution', resource: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:FleetUpgrade:run-1` }).decision,
    ).toBe('Allow');
    expect(as(machine, { action: 'states:StartExecution', resource: `${machineArn}Other` }).decision).toBe('ImplicitDeny');
  });
});

// What the handlers call and their roles did not grant before issue 17's fixes: each fails without its grant.
describe('calls the handlers make that their roles must allow (issue 17)', () => {
  it('run-step may answer task tokens when it takes over a command (TaskCallback: SendTaskSuccess/Failure)', () => {
    for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure']) {
      expect(as('run-step', { action, resource: machineArn }).decision, action).toBe('Allow');
    }
  });

  it('command-finished may answer the tokens of Distributed Map children (`<machine>/<label>`)', () => {
    expect(as('command-finished', { action: 'states:SendTaskSuccess', resource: `${machineArn}/UpgradeNodes` }).decision).toBe('Allow');
  });

  it('record-node may release held nodes waiting inside Distributed Map children (issue 23)', () => {
    expect(as('record-node', { action: 'states:SendTaskSuccess', resource: `${machineArn}/UpgradeNodes` }).decision).toBe('Allow');
    expect(as('record-node', { action: 'states:SendTaskFailure', resource: `${machineArn}/UpgradeNodes` }).decision).toBe('ImplicitDeny');
  });

  it('approval-page may put the pending pointer back (unclaimApproval: PutItem on APPROVALS#PENDING)', () => {
    expect(as('approval-page', { action: 'dynamodb:PutItem', resource: tableArn, context: { 'dynamodb:LeadingKeys': ['APPROVALS#PENDING'] } }).decision).toBe(
      'Allow',
    );
  });
});
