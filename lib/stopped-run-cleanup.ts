import { Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { ENDED_WITHOUT_CLEANUP } from '../core/execution-status.js';
import type { CommandDocument } from './command-document.js';
import { STATE_MACHINE_METADATA_KEY } from './metadata-keys.js';

export { STATE_MACHINE_METADATA_KEY };

/** One clean-up-run invocation's timeout, Lambda's longest: an invocation that needs more returns `done: false` and the machine invokes it again. */
export const CLEAN_UP_RUN_TIMEOUT = Duration.minutes(15);

/** The cleanup's Lambda task: the rehearsal and the tests find it by this name. */
export const CLEAN_UP_STATE_NAME = 'Clean up the stopped run';

export interface StoppedRunCleanupProps {
  table: dynamodb.ITable;
  /** The upgrade state machine whose stopped, timed-out and failed executions are cleaned up. */
  upgradeMachine: sfn.IStateMachine;
  /** The runbook document clean-up-run sends (rollback, maintenance mode off). */
  document: CommandDocument;
  commandOutputLogs: logs.ILogGroup;
  /** The stop rule's target: starts one cleanup execution per run. */
  runStopped: lambda.Function;
  /** Does the cleanup, a piece per invocation, until it says it is done; its timeout must be CLEAN_UP_RUN_TIMEOUT. */
  cleanUpRun: lambda.Function;
}

/**
 * StopExecution, the execution timeout and a failure no Catch takes (States.DataLimitExceeded) end a run at
 * once, without its catch paths. The stop rule hands the status change to `run-stopped`, which starts an
 * execution of the cleanup state machine named after the run; that execution invokes `clean-up-run` again
 * and again until the interrupted nodes are rolled back, maintenance mode is off and the lock is released —
 * as long as that takes, which one Lambda invocation (15 minutes at most) could not promise.
 */
export class StoppedRunCleanup extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: StoppedRunCleanupProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { cleanUpRun, runStopped } = props;
    if (cleanUpRun.timeout?.toSeconds() !== CLEAN_UP_RUN_TIMEOUT.toSeconds()) {
      throw new Error(
        `StoppedRunCleanup: cleanUpRun: expected the timeout CLEAN_UP_RUN_TIMEOUT (${CLEAN_UP_RUN_TIMEOUT.toSeconds()} seconds), got ${String(cleanUpRun.timeout?.toSeconds())} seconds`,
      );
    }
    props.table.grantReadWriteData(cleanUpRun);
    props.document.grantSendCommand(cleanUpRun);
    cleanUpRun.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetCommandInvocation'], resources: ['*'] }));
    props.commandOutputLogs.grant(cleanUpRun, 'logs:DescribeLogStreams', 'logs:GetLogEvents');

    const cleanUp = new tasks.LambdaInvoke(this, CLEAN_UP_STATE_NAME, {
      comment: 'rolls back nodes caught mid-upgrade, turns maintenance mode off, releases the lock, records the summary',
      lambdaFunction: cleanUpRun,
      payload: sfn.TaskInput.fromObject({ 'detail.$': '$.detail' }),
      payloadResponseOnly: true,
      resultPath: '$.cleanup',
      retryOnServiceExceptions: false,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(16)),
    });
    // Every piece of the cleanup is idempotent and goes on from DynamoDB: any failure is worth trying again, for
    // about 40 minutes (10 s doubling to 5 min; no jitter: one cleanup per run, and the budget must be what it says).
    cleanUp.addRetry({
      errors: ['States.ALL'],
      interval: Duration.seconds(10),
      maxAttempts: 12,
      backoffRate: 2,
      maxDelay: Duration.minutes(5),
      jitterStrategy: sfn.JitterType.NONE,
    });
    const definition = cleanUp.next(
      new sfn.Choice(this, 'Cleaned up?')
        .when(sfn.Condition.booleanEquals('$.cleanup.done', true), new sfn.Succeed(this, 'Cleaned up'))
        .otherwise(new sfn.Wait(this, 'Then go on', { time: sfn.WaitTime.duration(Duration.seconds(10)) }).next(cleanUp)),
    );
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: 'fleet-upgrade: cleans up after an upgrade execution stopped, timed out or failed past its catch paths',
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      logs: {
        destination: new logs.LogGroup(this, 'Logs', {
          logGroupName: `/aws/vendedlogs/states/${stack.stackName}-cleanup`,
          retention: logs.RetentionDays.ONE_MONTH,
        }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
      tracingEnabled: true,
    });
    (this.stateMachine.node.defaultChild as sfn.CfnStateMachine).addMetadata(STATE_MACHINE_METADATA_KEY, 'cleanup');

    props.table.grantReadWriteData(runStopped);
    this.stateMachine.grantStartExecution(runStopped);
    // The status-change event leaves a large input out: run-stopped then reads it (the cluster) from the execution.
    props.upgradeMachine.grantExecution(runStopped, 'states:DescribeExecution');
    runStopped.addEnvironment('CLEANUP_STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
    new events.Rule(this, 'StopRule', {
      description: 'fleet-upgrade: an execution was stopped, timed out or failed (its catch paths may not have run)',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [props.upgradeMachine.stateMachineArn], status: [...ENDED_WITHOUT_CLEANUP] },
      },
      targets: [new targets.LambdaFunction(runStopped, { retryAttempts: 8, maxEventAge: Duration.hours(2) })],
    });
  }
}
