import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/** What the health gate's states need from the workflow. */
export interface HealthStatesProps {
  requestApproval: lambda.IFunction;
  recordNode: lambda.IFunction;
  /** Retry of transient errors, as every Lambda task has. */
  retry: sfn.RetryProps;
  /** Where a node that finished goes after its health check (or its health question): the canary's Choice. */
  afterNode: sfn.IChainable;
}

const present = (path: string) => sfn.Condition.and(sfn.Condition.isPresent(path), sfn.Condition.booleanEquals(path, true));

/**
 * Health gates: after a node's version is recorded, a run with `healthAlarms` bakes (`bakeSeconds`), then reads
 * the alarms ("Check health alarms"); the gate reads them too before a node starts. A firing alarm asks the
 * operators continue or abort (an approval of kind `health`); no answer in time, or no way to ask, decides abort.
 * record-node records the decision: abort marks the run stopping; either way held nodes go back to the gate.
 * A run without healthAlarms pays one Choice per node for all of this.
 */
export class HealthStates {
  /** The question, entered from the gate (`$.gate.askHealth`) or from the check after a node. */
  readonly ask: sfn.IChainable;
  private readonly whereNext: sfn.Choice;

  constructor(private readonly scope: Construct, private readonly props: HealthStatesProps) {
    const lambdaTask = (name: string, fn: lambda.IFunction, payload: Record<string, unknown>, resultPath: string) =>
      new tasks.LambdaInvoke(scope, name, {
        lambdaFunction: fn, payload: sfn.TaskInput.fromObject(payload), payloadResponseOnly: true, resultPath, taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
      }).addRetry(props.retry);
    const record = lambdaTask('Record health decision', props.recordNode, { action: 'healthDecided', 'node.$': '$.node', 'run.$': '$.run', 'approval.$': '$.healthApproval' }, sfn.JsonPath.DISCARD);
    record.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(2), backoffRate: 2 });
    // A node that finished goes on to the canary's Choice; a node the gate stopped asks the gate again.
    this.whereNext = new sfn.Choice(scope, 'Had the node finished when the alarm fired?').when(sfn.Condition.isPresent('$.outcome'), props.afterNode);
    record.next(this.whereNext);
    const ask = new tasks.LambdaInvoke(scope, 'Ask operator: continue despite the alarm?', {
      lambdaFunction: props.requestApproval,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({ action: 'askHealth', taskToken: sfn.JsonPath.taskToken, 'node.$': '$.node', 'run.$': '$.run', 'enteredAt.$': '$$.State.EnteredTime' }),
      resultPath: '$.healthApproval',
      taskTimeout: sfn.Timeout.at('$.run.approvalTimeoutSeconds'),
    });
    const timedOut = lambdaTask('Decide health by timeout', props.requestApproval, { action: 'healthTimeout', 'node.$': '$.node', 'run.$': '$.run' }, '$.healthApproval');
    ask.addCatch(timedOut, { resultPath: '$.healthApproval' });
    // Not even the timeout could decide: $.healthApproval holds the error, which record-node takes as abort.
    timedOut.addCatch(record, { resultPath: '$.healthApproval' });
    ask.next(record);
    timedOut.next(record);
    this.ask = ask;
  }

  /** A node the gate stopped for the question goes back to the gate once it is decided. */
  backTo(gate: sfn.IChainable): void {
    this.whereNext.otherwise(gate);
  }

  /** After a node's version is recorded: with healthAlarms, bake then check (and ask if one fires); without, on to `afterNode`. */
  afterNode(): sfn.Choice {
    const { scope, props } = this;
    const check = new tasks.LambdaInvoke(scope, 'Check health alarms', {
      lambdaFunction: props.recordNode,
      payload: sfn.TaskInput.fromObject({ action: 'checkHealth', 'node.$': '$.node', 'run.$': '$.run' }),
      payloadResponseOnly: true,
      resultPath: '$.health',
      taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
    }).addRetry(props.retry);
    check.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(2), backoffRate: 2 });
    // The check cannot read the alarms at all: the node is done; the next gate reads them again (and asks then).
    check.addCatch(props.afterNode, { resultPath: '$.healthError' });
    check.next(new sfn.Choice(scope, 'Is a health alarm firing?').when(present('$.health.askHealth'), this.ask).otherwise(props.afterNode));
    const bake = new sfn.Wait(scope, 'Bake: watch the alarms', { time: sfn.WaitTime.secondsPath('$.run.bakeSeconds') }).next(check);
    return new sfn.Choice(scope, 'Are health alarms watched?')
      .when(
        sfn.Condition.isPresent('$.run.healthAlarms'),
        new sfn.Choice(scope, 'Bake after the node?')
          .when(sfn.Condition.and(sfn.Condition.isPresent('$.run.bakeSeconds'), sfn.Condition.numberGreaterThan('$.run.bakeSeconds', 0)), bake)
          .otherwise(check),
      )
      .otherwise(props.afterNode);
  }
}
