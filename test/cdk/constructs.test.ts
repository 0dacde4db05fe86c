import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { CommandDocument } from '../../lib/command-document.js';
import { FleetFunction } from '../../lib/fleet-function.js';
import { StoppedRunCleanup } from '../../lib/stopped-run-cleanup.js';
import { ContinueOrAbort } from '../../lib/workflow/continue-or-abort.js';
import { resolveIntrinsics } from '../../local/template.js';

type State = { Type: string; Resource?: string; Parameters?: { Payload?: Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown>;

/** A stack outside any real one: assets are not bundled. */
function newStack(): Stack {
  mkdirSync('.tmp', { recursive: true });
  return new Stack(new App({ outdir: mkdtempSync(join('.tmp', 'cdk-constructs-')), context: { 'aws:cdk:bundling-stacks': [] } }), 'Constructs');
}

/** The states of a state machine whose definition is `question` followed by a Succeed. */
function questionStates(subject: 'canary' | 'health', question: string, resultPath?: string): Record<string, State> {
  const stack = newStack();
  const fn = (name: string) => lambda.Function.fromFunctionArn(stack, name, `arn:aws:lambda:us-east-1:123456789012:function:${name}`);
  const asked = new ContinueOrAbort(stack, 'Question', {
    subject,
    question,
    requestApproval: fn('request-approval'),
    recordNode: fn('record-node'),
    ...(resultPath ? { resultPath } : {}),
  });
  new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(asked.next(new sfn.Succeed(stack, 'Answered'))) });
  const machine = Object.values(Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine'))[0] as {
    Properties: { DefinitionString: unknown };
  };
  return (JSON.parse(String(resolveIntrinsics(machine.Properties.DefinitionString))) as { States: Record<string, State> }).States;
}

describe('ContinueOrAbort', () => {
  it.each([
    ['canary', 'continue after the canary?', undefined, 'Canary', '$.approval'],
    ['health', 'continue despite the alarm?', '$.healthApproval', 'Health', '$.healthApproval'],
  ] as const)(
    'asks continue or abort about the %s with a task token, lets the timeout decide, then records the decision',
    (subject, question, given, Subject, at) => {
      const states = questionStates(subject, question, given);
      const ask = states[`Ask operator: ${question}`];
      expect(ask?.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
      expect(ask).toMatchObject({ ResultPath: at, TimeoutSecondsPath: '$.run.approvalTimeoutSeconds', Next: `Record ${subject} decision` });
      expect(ask?.Parameters?.Payload).toMatchObject({ action: `ask${Subject}`, 'taskToken.$': '$$.Task.Token', 'enteredAt.$': '$$.State.EnteredTime' });
      expect(ask?.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: at, Next: `Decide ${subject} by timeout` }]);
      // No answer in time, or no way to ask: the timeout decides; and when even that fails, record-node takes the error as abort.
      const timedOut = states[`Decide ${subject} by timeout`];
      expect(timedOut).toMatchObject({ ResultPath: at, Next: `Record ${subject} decision`, Parameters: { action: `${subject}Timeout` } });
      expect(timedOut?.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: at, Next: `Record ${subject} decision` }]);
      const record = states[`Record ${subject} decision`];
      expect(record).toMatchObject({ ResultPath: null, Next: 'Answered', Parameters: { action: `${subject}Decided`, 'approval.$': at } });
      expect(record?.Retry).toContainEqual(expect.objectContaining({ ErrorEquals: ['States.ALL'] }));
      expect(Object.keys(states).sort()).toEqual(
        ['Answered', `Ask operator: ${question}`, `Decide ${subject} by timeout`, `Record ${subject} decision`].sort(),
      );
    },
  );

  it('refuses a result path that is not a JSONPath', () => {
    expect(() => questionStates('canary', 'continue?', 'approval')).toThrow(/resultPath: expected a JSONPath such as \$\.approval, got approval/);
  });
});

describe('FleetFunction', () => {
  let template: Template;
  beforeAll(() => {
    const stack = newStack();
    new FleetFunction(stack, 'LockFunction', { handler: 'lock', description: 'takes and releases the cluster lock', environment: { TABLE_NAME: 't' } });
    template = Template.fromStack(stack);
  });

  it('gives the function a role and a log group of its own, beside it, under the logical ids deployed stacks have', () => {
    const [roleId] = Object.keys(template.findResources('AWS::IAM::Role'));
    const [logsId] = Object.keys(template.findResources('AWS::Logs::LogGroup'));
    expect(roleId).toMatch(/^LockRole[0-9A-F]{8}$/);
    expect(logsId).toMatch(/^LockLogs[0-9A-F]{8}$/);
    template.hasResource('AWS::Lambda::Function', {
      Metadata: Match.objectLike({ 'fleet-upgrade:handler': 'lock' }),
      Properties: Match.objectLike({
        Description: 'fleet-upgrade: takes and releases the cluster lock',
        Runtime: 'nodejs22.x',
        Timeout: 30,
        Role: { 'Fn::GetAtt': [roleId, 'Arn'] },
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: logsId } },
        Environment: { Variables: Match.objectLike({ TABLE_NAME: 't' }) },
      }),
    });
    // Its role writes to its own log group only.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [logsId, 'Arn'] } }] },
    });
  });

  it('refuses a handler that is not a folder under lambdas/, naming it', () => {
    expect(() => new FleetFunction(newStack(), 'NoFunction', { handler: 'no-such-handler', description: 'x' })).toThrow(
      /FleetFunction NoFunction: handler: expected the name of a folder under lambdas\/ holding index\.ts, got "no-such-handler"/,
    );
  });
});

describe('StoppedRunCleanup', () => {
  it("refuses a clean-up-run function whose timeout is not Lambda's longest (15 minutes)", () => {
    const stack = newStack();
    const fleetFunction = (id: string, handler: string) => new FleetFunction(stack, id, { handler, description: handler });
    expect(
      () =>
        new StoppedRunCleanup(stack, 'StoppedRunCleanup', {
          table: new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } }),
          upgradeMachine: sfn.StateMachine.fromStateMachineArn(stack, 'Upgrade', 'arn:aws:states:us-east-1:123456789012:stateMachine:upgrade'),
          document: new CommandDocument(stack, 'RunbookDocument', { content: { schemaVersion: '2.2' } }),
          commandOutputLogs: new logs.LogGroup(stack, 'CommandOutputLogs'),
          runStopped: fleetFunction('RunStoppedFunction', 'run-stopped'),
          cleanUpRun: fleetFunction('CleanUpRunFunction', 'clean-up-run'),
        }),
    ).toThrow(/StoppedRunCleanup: cleanUpRun: expected the timeout CLEAN_UP_RUN_TIMEOUT \(900 seconds\), got 30 seconds/);
  });
});
