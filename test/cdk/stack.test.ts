import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { FleetUpgradeStack, HANDLER_METADATA_KEY } from '../../lib/fleet-upgrade-stack.js';
import { STEP_IDS, STEP_STATE_NAMES, STEP_TIMEOUT_SECONDS, deliveryTimeoutSeconds } from '../../core/steps.js';
import { HELD_STATE_NAME } from '../../core/hold.js';
import { resolveIntrinsics } from '../../local/template.js';
import { EXECUTION_TIMEOUT_DAYS, MAX_APPROVAL_TIMEOUT_MINUTES } from '../../core/execution-timeout.js';
import { TEST_PACKAGE_KEY } from '../support/package-key.js';

let template: Template;
let withIssuer: Template;
let definition: string;
const states = new Map<string, { Type: string; Resource?: string }>();

type States = Record<string, { Type: string; Resource?: string; ItemProcessor?: { States: States } }>;
function collect(all: States): void {
  for (const [name, state] of Object.entries(all)) {
    states.set(name, state);
    if (state.ItemProcessor) collect(state.ItemProcessor.States);
  }
}

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };

/** A function's logical id and its properties, by handler name. */
function functionOf(t: Template, name: string): [string, { Role: { 'Fn::GetAtt': [string, string] }; Environment: { Variables: Record<string, unknown> } }] {
  const found = Object.entries(t.findResources('AWS::Lambda::Function')).find(
    ([, f]) => (f as { Metadata?: Record<string, unknown> }).Metadata?.[HANDLER_METADATA_KEY] === name,
  );
  if (found === undefined) throw new Error(`no function ${name}`);
  return [found[0], (found[1] as { Properties: ReturnType<typeof functionOf>[1] }).Properties];
}

/** Every statement of every policy attached to a role (its default policy and policies of their own). */
function roleStatements(roleId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles).includes(JSON.stringify({ Ref: roleId })))
    .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
}

beforeAll(() => {
  mkdirSync('.tmp', { recursive: true });
  const app = new App({ outdir: mkdtempSync(join('.tmp', 'cdk-test-')), context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new FleetUpgradeStack(app, 'FleetUpgradeStack', {
    artifactBaseUrl: 'https://artifacts.example.com/app',
    packageSigningPublicKey: TEST_PACKAGE_KEY,
  });
  template = Template.fromStack(stack);
  const issuerApp = new App({ outdir: mkdtempSync(join('.tmp', 'cdk-test-')), context: { 'aws:cdk:bundling-stacks': [] } });
  withIssuer = Template.fromStack(
    new FleetUpgradeStack(issuerApp, 'FleetUpgradeStack', {
      artifactBaseUrl: 'https://artifacts.example.com/app',
      packageSigningPublicKey: TEST_PACKAGE_KEY,
      approvalSignIn: {
        issuer: 'https://login.example.com',
        clientId: 'page',
        clientSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:oidc-AbCdEf',
        approvers: 'group:ops',
      },
    }),
  );
  const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as { Properties: { DefinitionString: unknown } };
  definition = String(resolveIntrinsics(machine.Properties.DefinitionString));
  collect((JSON.parse(definition) as { States: States }).States);
});

describe('FleetUpgradeStack', () => {
  it('keeps node history in one on-demand table with point-in-time recovery and TTL', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  it('generates one SSM Command document whose every parameter has an allowedPattern', () => {
    template.resourceCountIs('AWS::SSM::Document', 1);
    const doc = Object.values(template.findResources('AWS::SSM::Document'))[0] as {
      Properties: { DocumentType: string; Content: { parameters: Record<string, { allowedPattern?: string }>; mainSteps: { action: string }[] } };
    };
    expect(doc.Properties.DocumentType).toBe('Command');
    for (const [name, p] of Object.entries(doc.Properties.Content.parameters)) expect(p.allowedPattern, name).toMatch(/^\^/);
    expect(doc.Properties.Content.mainSteps[0]?.action).toBe('aws:runShellScript');
    expect(new RegExp(doc.Properties.Content.parameters.step?.allowedPattern ?? '').test('download;id')).toBe(false);
  });

  it('runs every function on Node.js 22, arm64, with JSON logs and a log retention', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const ours = Object.values(functions).filter((f) => (f as { Metadata?: Record<string, unknown> }).Metadata?.['fleet-upgrade:handler']);
    expect(ours.length).toBe(12);
    for (const f of ours) {
      expect(f).toMatchObject({ Properties: { Runtime: 'nodejs22.x', Architectures: ['arm64'], LoggingConfig: { LogFormat: 'JSON' } } });
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('has a state for every step of the node pipeline and for maintenance mode', () => {
    for (const step of STEP_IDS.filter((s) => s !== 'rollback')) expect(states.get(STEP_STATE_NAMES[step])?.Type, step).toBe('Task');
    for (const name of [
      'Validate input',
      'Acquire cluster lock',
      'Plan upgrade',
      'Record version',
      'Release cluster lock',
      'Summarize',
      'Disable maintenance mode after failure',
    ]) {
      expect(states.get(name)?.Type, name).toBe('Task');
    }
    expect(states.get('Upgrade groups in role order')?.Type).toBe('Map');
    expect(states.get('Upgrade nodes of the group')?.Type).toBe('Map');
  });

  it('checks every node before the window and opens it only when some node needs the upgrade', () => {
    const top = (
      JSON.parse(definition) as {
        States: Record<
          string,
          {
            Type: string;
            Next?: string;
            ItemProcessor?: { StartAt: string; States: Record<string, { Next?: string }> };
            Choices?: { Next: string }[];
            Default?: string;
            MaxConcurrency?: number;
          }
        >;
      }
    ).States;
    const check = top['Check every node'];
    expect(check?.Type).toBe('Map');
    expect(check?.MaxConcurrency).toBe(10);
    expect(check?.ItemProcessor?.StartAt).toBe('Self-update');
    expect(check?.ItemProcessor?.States['Self-update']?.Next).toBe('Check version');
    expect(check?.Next).toBe('Decide which nodes to upgrade');
    expect(top['Decide which nodes to upgrade']?.Next).toBe('Does any node need the upgrade?');
    const gate = top['Does any node need the upgrade?'];
    expect(gate?.Choices?.[0]?.Next).toBe('Enable maintenance mode');
    expect(gate?.Default).toBe('Release cluster lock');
  });

  // A Distributed Map gathers its children's outputs into its result even with ResultPath null (aws-cdk issue
  // 24799); past 256 KiB the execution fails with States.DataLimitExceeded, which States.ALL does not catch
  // (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html,
  // https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html: 256 KiB per state payload).
  it('ends every Distributed Map child with an empty output, whichever state ends it', () => {
    type AslState = {
      Type: string;
      End?: boolean;
      InputPath?: string | null;
      OutputPath?: string | null;
      ResultPath?: string | null;
      Parameters?: unknown;
      Result?: unknown;
      Catch?: { ResultPath?: string | null }[];
      ItemSelector?: Record<string, unknown>;
      ItemProcessor?: { ProcessorConfig?: { Mode?: string }; States: Record<string, AslState> };
    };
    const maps: [string, AslState][] = [];
    const find = (all: Record<string, AslState>) => {
      for (const [name, state] of Object.entries(all)) {
        if (state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') maps.push([name, state]);
        if (state.ItemProcessor) find(state.ItemProcessor.States);
      }
    };
    find((JSON.parse(definition) as { States: Record<string, AslState> }).States);
    expect(maps.map(([name]) => name).sort()).toEqual(['Check every node', 'Upgrade groups in role order', 'Upgrade nodes of the group']);
    for (const [mapName, map] of maps) {
      // The constants the ItemSelector puts in every child: an empty object is what a child may end with.
      const empty = Object.entries(map.ItemSelector ?? {})
        .filter(([, v]) => JSON.stringify(v) === '{}')
        .map(([k]) => `$.${k}`);
      expect(empty, mapName).toHaveLength(1);
      const keeps = (path: string | null | undefined) => path !== undefined && path !== '$';
      let ends = 0;
      for (const [name, state] of Object.entries(map.ItemProcessor?.States ?? {})) {
        const where = `${mapName} / ${name}`;
        // The empty object survives every state: nothing narrows the input or writes a result over the whole state.
        expect(state.InputPath ?? '$', where).toBe('$');
        if (['Task', 'Map'].includes(state.Type) || (state.Type === 'Pass' && (state.Result !== undefined || state.Parameters !== undefined))) {
          expect(keeps(state.ResultPath), `${where}: ResultPath ${String(state.ResultPath)}`).toBe(true);
        }
        for (const c of state.Catch ?? []) expect(keeps(c.ResultPath), `${where}: Catch ResultPath`).toBe(true);
        const terminal = state.End === true || state.Type === 'Succeed';
        if (state.Type === 'Fail') continue;
        if (terminal) {
          ends++;
          expect(state.OutputPath, where).toBe(empty[0]);
        } else {
          expect(state.OutputPath ?? '$', where).toBe('$');
        }
      }
      expect(ends, mapName).toBeGreaterThan(0);
    }
  });

  it('times an execution out after the days the input schema allows for (an approval wait fits inside with room to spare)', () => {
    expect((JSON.parse(definition) as { TimeoutSeconds?: number }).TimeoutSeconds).toBe(EXECUTION_TIMEOUT_DAYS * 86_400);
    expect(MAX_APPROVAL_TIMEOUT_MINUTES * 60).toBeLessThan(EXECUTION_TIMEOUT_DAYS * 86_400);
  });

  // The context object's State.EnteredTime is when the state was entered
  // (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html): a task's timer starts no earlier.
  it('hands "Ask operator" the time it was entered, from which the approval link and the task time out alike', () => {
    const ask = states.get('Ask operator') as { Parameters?: { Payload?: Record<string, unknown> }; TimeoutSecondsPath?: string } | undefined;
    expect(ask?.Parameters?.Payload).toMatchObject({ action: 'ask', 'enteredAt.$': '$$.State.EnteredTime' });
    expect(ask?.TimeoutSecondsPath).toBe('$.run.approvalTimeoutSeconds');
  });

  // A command may start as late as its delivery timeout and then run its whole execution timeout
  // (https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html#monitor-about-status-timeouts).
  it("waits on each step task past its command's delivery and execution timeouts, and gives the senders the command output log group", () => {
    for (const step of STEP_IDS.filter((s) => s !== 'rollback')) {
      const task = states.get(STEP_STATE_NAMES[step]) as { TimeoutSeconds?: number } | undefined;
      expect(task?.TimeoutSeconds, step).toBeGreaterThan(deliveryTimeoutSeconds(STEP_TIMEOUT_SECONDS[step]) + STEP_TIMEOUT_SECONDS[step]);
    }
    const groupId = Object.entries(template.findResources('AWS::Logs::LogGroup')).find(([id]) => id.startsWith('CommandOutputLogs'))?.[0];
    expect(groupId).toBeDefined();
    for (const handler of ['run-step', 'run-stopped']) {
      template.hasResource('AWS::Lambda::Function', {
        Metadata: { 'fleet-upgrade:handler': handler },
        Properties: Match.objectLike({ Environment: { Variables: Match.objectLike({ COMMAND_OUTPUT_LOG_GROUP: { Ref: groupId } }) } }),
      });
    }
    template.hasOutput('CommandOutputLogGroup', { Value: { Ref: groupId } });
  });

  it('builds the SSM document from the kato runbook when asked, with the shared library embedded', () => {
    const app = new App({ outdir: mkdtempSync(join('.tmp', 'cdk-test-')), context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new FleetUpgradeStack(app, 'KatoStack', {
      artifactBaseUrl: 'https://artifacts.example.com/app',
      packageSigningPublicKey: TEST_PACKAGE_KEY,
      runbook: 'kato',
    });
    const doc = Object.values(Template.fromStack(stack).findResources('AWS::SSM::Document'))[0] as {
      Properties: { Content: { mainSteps: { inputs: { runCommand: string[] } }[] } };
    };
    const script = doc.Properties.Content.mainSteps[0]?.inputs.runCommand.join('\n') ?? '';
    expect(script).toContain('kato_run config set cloud_controller_ng maintenance_mode true');
    expect(script).toContain('>"$fu_dir/common.sh"');
    expect(
      () => new FleetUpgradeStack(app, 'Bad', { artifactBaseUrl: 'https://a.example.com', packageSigningPublicKey: TEST_PACKAGE_KEY, runbook: '../etc' }),
    ).toThrow(/runbook/);
  });

  it('waits for SSM steps on a task token, answered by command-finished from an EventBridge rule (no polling)', () => {
    expect(states.get('Download and verify')?.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    // The one Wait is the health gate's bake: watching alarms for bakeSeconds, not polling a step.
    expect([...states.entries()].filter(([, s]) => s.Type === 'Wait').map(([name]) => name)).toEqual(['Bake: watch the alarms']);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        source: ['aws.ssm'],
        'detail-type': ['EC2 Command Invocation Status-change Notification'],
      }),
      Targets: Match.arrayWith([Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CommandFinished'), 'Arn'] } })]),
    });
  });

  it('lets run-step send only the stack document (and instances)', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'ssm:SendCommand',
            Resource: Match.objectLike({
              'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':document/'), { Ref: Match.stringLikeRegexp('^RunbookDocument') }])],
            }),
          }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^RunStep') }],
    });
  });

  // Step Functions checks a task answer against the state machine of the execution that waits: node steps and
  // approvals wait in Distributed Map children, whose state machine ARN is `<machine>/<label>`
  // (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html).
  it('lets every function that answers task tokens answer them for the execution and for its Distributed Map children', () => {
    // Who calls SendTaskSuccess/SendTaskFailure (adapters/task-callback.ts): command-finished and run-step
    // (adapters/command-completion.ts), the approval page (adapters/approvals.ts, success only), record-node
    // (releasing held nodes, success only).
    const answering: Record<string, string[]> = {
      'command-finished': ['states:SendTaskFailure', 'states:SendTaskSuccess'],
      'run-step': ['states:SendTaskFailure', 'states:SendTaskSuccess'],
      'approval-page': ['states:SendTaskSuccess'],
      'record-node': ['states:SendTaskSuccess'],
    };
    const machineId = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0] as string;
    const both = [{ Ref: machineId }, { 'Fn::Join': ['', [{ Ref: machineId }, '/*']] }];
    for (const [id, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
      const handler = (fn as { Metadata?: Record<string, string> }).Metadata?.['fleet-upgrade:handler'];
      if (handler === undefined) continue;
      const role = (fn as { Properties: { Role: { 'Fn::GetAtt': [string, string] } } }).Properties.Role['Fn::GetAtt'][0];
      const granted = roleStatements(role).filter((s) => [s.Action].flat().some((a) => a.startsWith('states:SendTask')));
      expect(granted.flatMap((s) => [s.Action].flat()).sort(), `${handler} (${id})`).toEqual(answering[handler] ?? []);
      for (const s of granted) expect(s.Resource, handler).toEqual(both);
    }
  });

  it('grants table access scoped to the table and never to validate-input', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    for (const [id, policy] of Object.entries(policies)) {
      const text = JSON.stringify(policy);
      if (text.includes('dynamodb:')) expect(text, id).toContain('"Fn::GetAtt":["Table');
      if (id.startsWith('ValidateInput')) expect(text).not.toContain('dynamodb:');
    }
  });

  it('reminds the approvers every 5 minutes: a schedule rule invokes remind-approvers, with the link base and key', () => {
    const [id, fn] = functionOf(template, 'remind-approvers');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [id, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', { FunctionName: { 'Fn::GetAtt': [id, 'Arn'] }, Principal: 'events.amazonaws.com' });
    expect(Object.keys(fn.Environment.Variables)).toEqual(expect.arrayContaining(['TABLE_NAME', 'TOPIC_ARN', 'APPROVAL_URL', 'APPROVAL_KEY_SECRET_ARN']));
    expect(fn.Environment.Variables).not.toHaveProperty('APPROVAL_SIGN_IN_ISSUER');
  });

  it('lets remind-approvers list waiting approvals and record on approval items only, publish to the topic and read the link key', () => {
    const statements = roleStatements(functionOf(template, 'remind-approvers')[1].Role['Fn::GetAtt'][0]);
    const actions = (st: Statement) => [st.Action].flat();
    const dynamo = statements.filter((st) => actions(st).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.map((st) => [actions(st), st.Condition])).toEqual([
      [['dynamodb:Query'], { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['APPROVALS#PENDING'] } }],
      [['dynamodb:GetItem', 'dynamodb:UpdateItem'], { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APPROVAL#*'] } }],
    ]);
    const all = statements.flatMap(actions);
    expect(all).toEqual(expect.arrayContaining(['sns:Publish', 'secretsmanager:GetSecretValue']));
    expect(all).not.toContain('dynamodb:*');
  });

  it('tells the approval emails whom to sign in with when approvalIssuer is set (request-approval and remind-approvers), and says nothing otherwise', () => {
    for (const name of ['request-approval', 'remind-approvers']) {
      expect(functionOf(withIssuer, name)[1].Environment.Variables.APPROVAL_SIGN_IN_ISSUER, name).toBe('https://login.example.com');
      expect(functionOf(template, name)[1].Environment.Variables, name).not.toHaveProperty('APPROVAL_SIGN_IN_ISSUER');
    }
  });

  it('has an SNS topic for operator notifications', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
  });

  it('retries a function that ran past its Lambda timeout wherever it retries transient errors (every handler is idempotent)', () => {
    // Lambda ends such an invocation with errorType Sandbox.Timedout
    // (https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html#troubleshooting-timeouts).
    const retriers = [...states.values()]
      .flatMap((st) => (st as { Retry?: { ErrorEquals: string[] }[] }).Retry ?? [])
      .filter((r) => r.ErrorEquals.includes('ThrottlingException'));
    expect(retriers.length).toBeGreaterThan(10);
    for (const r of retriers) expect(r.ErrorEquals).toEqual(expect.arrayContaining(['Sandbox.Timedout', 'Lambda.Unknown']));
  });

  it('holds a node that may not start yet on a task token (record-node answers it: see the task-token grants above)', () => {
    const held = states.get(HELD_STATE_NAME) as
      { Type: string; Resource?: string; Next?: string; Catch?: { ErrorEquals: string[]; Next: string }[] } | undefined;
    expect(held?.Resource).toMatch(/lambda:invoke\.waitForTaskToken$/);
    expect(held?.Next).toBe('May this node start?');
    expect(held?.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.Timeout'], Next: 'May this node start?' })]);
    const gate = states.get('Is the run stopping, or is the node resumed?') as unknown as { Choices: { Next: string }[] };
    expect(gate.Choices[0]?.Next).toBe(HELD_STATE_NAME);
  });
});
