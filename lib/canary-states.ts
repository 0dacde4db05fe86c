import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/** What the canary's states need from the workflow. */
export interface CanaryStatesProps {
  requestApproval: lambda.IFunction;
  recordNode: lambda.IFunction;
  /** Retry of transient errors, as every Lambda task has. */
  retry: sfn.RetryProps;
  /** Props of a state that ends a Distributed Map child (it outputs the empty object). */
  endsChild: { outputPath: string };
}

/**
 * Canary, then widen: the node whose outcome completed the canary (record-node answers `askCanary`) asks the
 * operators continue or abort (an approval of kind `canary`: page, email, `decide`) and waits; no answer in
 * time, or no way to ask, decides abort. record-node then records the decision: abort marks the run stopping;
 * either way the nodes the gate held go back to it. The other nodes pass straight through.
 */
export class CanaryStates {
  private readonly ask: sfn.IChainable;

  constructor(
    private readonly scope: Construct,
    private readonly props: CanaryStatesProps,
  ) {
    const lambdaTask = (name: string, fn: lambda.IFunction, payload: Record<string, unknown>, resultPath: string) =>
      new tasks.LambdaInvoke(scope, name, {
        lambdaFunction: fn,
        payload: sfn.TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        resultPath,
        taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
      }).addRetry(props.retry);
    const record = lambdaTask(
      'Record canary decision',
      props.recordNode,
      { action: 'canaryDecided', 'node.$': '$.node', 'run.$': '$.run', 'approval.$': '$.approval' },
      sfn.JsonPath.DISCARD,
    );
    record.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(2), backoffRate: 2 });
    record.next(
      new sfn.Succeed(scope, 'Canary decided', {
        ...props.endsChild,
        comment: 'continue: the held nodes start; abort: the run stops, the canary nodes stay at the target',
      }),
    );
    const ask = new tasks.LambdaInvoke(scope, 'Ask operator: continue after the canary?', {
      lambdaFunction: props.requestApproval,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({
        action: 'askCanary',
        taskToken: sfn.JsonPath.taskToken,
        'node.$': '$.node',
        'run.$': '$.run',
        'enteredAt.$': '$$.State.EnteredTime',
      }),
      resultPath: '$.approval',
      taskTimeout: sfn.Timeout.at('$.run.approvalTimeoutSeconds'),
    });
    const timedOut = lambdaTask(
      'Decide canary by timeout',
      props.requestApproval,
      { action: 'canaryTimeout', 'node.$': '$.node', 'run.$': '$.run' },
      '$.approval',
    );
    ask.addCatch(timedOut, { resultPath: '$.approval' });
    // Not even the timeout could decide: $.approval holds the error, which record-node takes as abort.
    timedOut.addCatch(record, { resultPath: '$.approval' });
    ask.next(record);
    timedOut.next(record);
    this.ask = ask;
  }

  /**
   * After a node's outcome: ask about the canary if this node completed it, else end the child as `end` says.
   * `first`: a branch tested before the canary's (the health gate's watch), so it costs no state of its own.
   */
  after(choiceName: string, end: sfn.Succeed, first?: { when: sfn.Condition; then: sfn.IChainable }): sfn.Choice {
    const choice = new sfn.Choice(this.scope, choiceName);
    if (first !== undefined) choice.when(first.when, first.then);
    return choice
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.outcome.askCanary'), sfn.Condition.booleanEquals('$.outcome.askCanary', true)), this.ask)
      .otherwise(end);
  }
}
