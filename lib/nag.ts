import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';
import { CLUSTER_TAG } from '../core/node-tags.js';

/** What the acknowledgements are attached to: the stack's constructs that raise findings (the stack itself, without importing it). */
export interface NagSubjects extends IConstruct {
  /** Every function by handler name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The upgrade state machine. */
  readonly stateMachine: sfn.IStateMachine;
  /** The cleanup of stopped runs and its state machine. */
  readonly cleanup: { readonly stateMachine: sfn.IStateMachine };
  /** The approval page's API and, with sign-in, its session key. */
  readonly approvalPage: { readonly api: apigwv2.IHttpApi; readonly sessionKeySecret?: secretsmanager.ISecret };
  /** The approval link key. */
  readonly approvalKeySecret: secretsmanager.ISecret;
}

/**
 * The cdk-nag AwsSolutions findings this stack accepts, each on the narrowest construct that raises it
 * and, for wildcard permissions, on the one wildcard (`AwsSolutions-IAM5[Resource::…]`) — never the
 * rule as a whole. Recorded with CDK's own `Validations.acknowledge`, which cdk-nag (v3) reads, so the
 * stack itself does not depend on cdk-nag; test/cdk/nag.test.ts runs the checks and fails on anything
 * not acknowledged here. Everything else the checks asked for is fixed in the stack instead.
 */
export function acknowledgeNagFindings(stack: NagSubjects): void {
  const ack = (scope: IConstruct, id: string, reason: string): void => Validations.of(scope).acknowledge({ id, reason });
  const role = (name: string): IConstruct => {
    const found = stack.functions[name]?.role;
    if (found === undefined) throw new Error(`acknowledgeNagFindings: no function ${name} with a role in the stack`);
    return found;
  };

  for (const [name, fn] of Object.entries(stack.functions)) {
    ack(
      fn,
      'AwsSolutions-L1',
      `${name} stays on nodejs22.x on purpose: the local rehearsal and every test run the handlers on Node 22 (the project pins ` +
        'node ^22, esbuild targets node22), so the deployed runtime is the tested one; move the runtime, the esbuild target and the ' +
        'node pin together',
    );
    // Only the functions with a CDK grant on DataKey have these two (not validate-input; approval-page spells its key actions out).
    for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
      ack(
        role(name),
        `AwsSolutions-IAM5[Action::${action}]`,
        `${action} comes from CDK's grants on the stack's own customer-managed DataKey (table read/write, topic publish), the statement's ` +
          "only resource; it matches only that action's variants (GenerateDataKey, -WithoutPlaintext, -Pair…; ReEncryptFrom/-To), which " +
          'DynamoDB and SNS call on the key for the function',
      );
    }
  }

  ack(
    role('plan'),
    'AwsSolutions-IAM5[Resource::*]',
    `tag:GetResources and ssm:DescribeInstanceInformation find the cluster's nodes by the ${CLUSTER_TAG} tag, and tag:GetResources ` +
      'checks that listed nodes carry it; neither action supports resource-level permissions (no resource type in the Service Authorization ' +
      'Reference), so IAM only accepts "*"; both only read',
  );
  ack(
    role('record-node'),
    'AwsSolutions-IAM5[Resource::*]',
    'cloudwatch:DescribeAlarms reads the health alarms a run names (healthAlarms: execution input, not known at deploy time; ' +
      'composite alarms too), so no alarm ARN can be listed; it only reads alarm states',
  );
  for (const name of ['command-finished', 'clean-up-run']) {
    ack(
      role(name),
      'AwsSolutions-IAM5[Resource::*]',
      'ssm:GetCommandInvocation (reading a command\'s result when its status event was lost or the run was stopped) supports no resource-level permissions, so IAM only accepts "*"; it only reads',
    );
  }
  ack(
    role('run-step'),
    'AwsSolutions-IAM5[Resource::*]',
    'a retried step finds the command its crashed attempt sent (ssm:ListCommands, read-only), reads the result of the command ' +
      'its first attempt started (ssm:GetCommandInvocation) or cancels it on an unresponsive node (ssm:CancelCommand); none of ' +
      'these actions supports resource-level permissions, so IAM only accepts "*"',
  );
  for (const name of ['run-step', 'clean-up-run']) {
    for (const resource of [
      'arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*',
      'arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:managed-instance/*',
    ]) {
      ack(
        role(name),
        `AwsSolutions-IAM5[Resource::${resource}]`,
        `the nodes are an execution input, known only at run time; SendCommand may reach them only if they carry the ${CLUSTER_TAG} ` +
          `tag (condition ssm:resourceTag/${CLUSTER_TAG}) and only with the stack's own document (the document is a separate statement)`,
      );
    }
  }

  // The state machine's own role and its Distributed Map policy.
  const machine = stack.stateMachine;
  ack(
    machine,
    'AwsSolutions-IAM5[Resource::*]',
    'CloudWatch Logs delivery (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, ' +
      'PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) and X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, ' +
      'GetSamplingTargets) accept only "*"; CDK adds them for the logging and tracing that AwsSolutions-SF1/SF2 ask for',
  );
  for (const [name, fn] of Object.entries(stack.functions)) {
    ack(
      machine,
      `AwsSolutions-IAM5[Resource::<${logicalId(fn)}.Arn>:*]`,
      `LambdaInvoke grants the ${name} function and its qualified ARNs (":*" = versions and aliases of that one function); the tasks invoke the unqualified ARN`,
    );
  }
  // How cdk-nag prints the state machine's name (the last field of its ARN).
  const machineName = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId(machine)}"}]}]}`;
  const labels = stack.node
    .findAll()
    .filter(sfn.DistributedMap.isDistributedMap)
    .flatMap((map) => (map.toStateJson() as { Label?: string }).Label ?? []);
  for (const suffix of ['', ...labels.map((label) => `/${label}`)]) {
    ack(
      machine,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${machineName}${suffix}:*]`,
      suffix === ''
        ? 'a Distributed Map runs every item as a child execution named at run time; DescribeExecution and StopExecution reach only executions of this state machine'
        : `RedriveExecution of the child executions of the map labelled ${suffix.slice(1)} (named at run time), of this state machine only; CDK grants it for every Distributed Map`,
    );
  }

  ack(
    role('run-stopped'),
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${machineName}:*]`,
    'states:DescribeExecution on executions of the upgrade state machine only (named at run time): the status-change event leaves ' +
      "a large input out, and run-stopped reads the run's cluster from the execution",
  );
  // The cleanup state machine's role: the same logging and tracing wildcards, and the one function it invokes.
  const cleanup = stack.cleanup.stateMachine;
  ack(
    cleanup,
    'AwsSolutions-IAM5[Resource::*]',
    'CloudWatch Logs delivery and X-Ray accept only "*"; CDK adds them for the logging and tracing that AwsSolutions-SF1/SF2 ask for',
  );
  const cleanUpRun = stack.functions['clean-up-run'];
  if (cleanUpRun === undefined) throw new Error('acknowledgeNagFindings: no clean-up-run function in the stack');
  ack(
    cleanup,
    `AwsSolutions-IAM5[Resource::<${logicalId(cleanUpRun)}.Arn>:*]`,
    'LambdaInvoke grants the clean-up-run function and its qualified ARNs (":*" = versions and aliases of that one function); the task invokes the unqualified ARN',
  );

  for (const id of ['RunStepTaskAnswers', 'CommandFinishedTaskAnswers', 'RecordNodeTaskAnswers']) {
    ack(
      stack.node.findChild(id),
      `AwsSolutions-IAM5[Resource::<${logicalId(machine)}>/*]`,
      "SendTaskSuccess/SendTaskFailure must accept the task tokens of node steps and of held nodes' waiting states, which wait " +
        'inside Distributed Map children running as "<state machine ARN>/<map label>"; "/*" reaches only the children of this state ' +
        'machine',
    );
  }

  // The approval page.
  const page = stack.approvalPage;
  ack(
    role('approval-page'),
    `AwsSolutions-IAM5[Resource::<${logicalId(machine)}>/*]`,
    'SendTaskSuccess must accept the task tokens of the approval tasks inside Distributed Map children, which run as "<state ' +
      'machine ARN>/<map label>"; "/*" reaches only the children of this state machine',
  );
  ack(
    page.api,
    'AwsSolutions-APIG4',
    page.sessionKeySecret
      ? 'The approval page authorizes every request itself: a link signed with HMAC-SHA256 (LinkKey) and a person signed in with ' +
          "the company's OpenID Connect provider who is in `approvers` (authorization-code flow with PKCE, session cookie signed with " +
          'SessionKey); an approval is decided once. Operators open it from an email, where no IAM credential exists. The stage is ' +
          'throttled (5 requests/s, burst 20)'
      : 'The approval page checks a link signed with HMAC-SHA256 (LinkKey) over the approval id and an expiry, and an approval is ' +
          'decided once; no sign-in is configured, so ANYONE HOLDING A LINK CAN DECIDE (the synth warns; docs/security.md). Operators ' +
          'open it from an email, where no IAM credential exists. The stage is throttled (5 requests/s, burst 20)',
  );
  if (page.sessionKeySecret) {
    ack(
      page.sessionKeySecret,
      'AwsSolutions-SMG4',
      'No automatic rotation needed for safety: sessions last 15 minutes, so rotating it (put-secret-value, between runs) only ' +
        'signs approvers out; generated by CloudFormation, encrypted with DataKey, readable by approval-page only',
    );
  }
  ack(
    stack.approvalKeySecret,
    'AwsSolutions-SMG4',
    'No automatic rotation: the key verifies links already emailed, so rotating it during a run would void every pending approval ' +
      'link; it is generated by CloudFormation, encrypted with DataKey and readable by request-approval, remind-approvers and approval-page ' +
      'only. Rotate it between runs (put-secret-value); functions read it at a cold start',
  );
}

/** The logical id of a construct's CloudFormation resource, as cdk-nag names it in a finding (`<Id.Arn>`, `{"Ref":"Id"}`). */
function logicalId(construct: IConstruct): string {
  return String(Stack.of(construct).resolve((construct.node.defaultChild as CfnElement).logicalId));
}
