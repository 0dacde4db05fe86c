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
}

const present = (path: string) => sfn.Condition.and(sfn.Condition.isPresent(path), sfn.Condition.booleanEquals(path, true));

/**
 * Health gates: after a node's version is recorded, a run with `healthAlarms` bakes (`bakeSeconds`), then reads
 * the alarms ("Check health alarms"); the gate reads them too before a node starts. A firing alarm asks the
 * operators continue or abort (an approval of kind `health`); no answer in time, or no way to ask, decides abort.
 * record-node records the decision: abort marks the run stopping; either way held nodes go back to the gate.
 * The watch is a branch of the Choice after a node (`watched`), so a run without healthAlarms pays no state for it.
 */
export class HealthStates {
  /** The question, entered from the gate (`$.gate.askHealth`) or from the check after a node. */
  readonly ask: sfn.IChainable;
  /** The run watches alarms and this node's check has not run yet (its result lands in `$.health`). */
  readonly watched = sfn.Condition.and(sfn.Condition.isPresent('$.run.healthAlarms'), sfn.Condition.not(sfn.Condition.isPresent('$.health')));
  /** Bake (if `bakeSeconds` > 0), then check the alarms. */
  readonly watch: sfn.Choice;
  private readonly whereNext: sfn.Choice;
  private readonly firing: sfn.Choice;
  private readonly check: sfn.TaskStateBase;

  constructor(scope: Construct, props: HealthStatesProps) {
    const lambdaTask = (name: string, fn: lambda.IFunction, payload: Record<string, unknown>, resultPath: string) =>
      new tasks.LambdaInvoke(scope, name, {
        lambdaFunction: fn,
        payload: sfn.TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        resultPath,
        taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
      }).addRetry(props.retry);
    const record = lambdaTask(
      'Record health decision',
      props.recordNode,
      { action: 'healthDecided', 'node.$': '$.node', 'run.$': '$.run', 'approval.$': '$.healthApproval' },
      sfn.JsonPath.DISCARD,
    );
    record.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(2), backoffRate: 2 });
    // A node that finished goes on after its outcome; a node the gate stopped asks the gate again.
    this.whereNext = new sfn.Choice(scope, 'Had the node finished when the alarm fired?');
    record.next(this.whereNext);
    const ask = new tasks.LambdaInvoke(scope, 'Ask operator: continue despite the alarm?', {
      lambdaFunction: props.requestApproval,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({
        action: 'askHealth',
        taskToken: sfn.JsonPath.taskToken,
        'node.$': '$.node',
        'run.$': '$.run',
        'enteredAt.$': '$$.State.EnteredTime',
      }),
      resultPath: '$.healthApproval',
      taskTimeout: sfn.Timeout.at('$.run.approvalTimeoutSeconds'),
    });
    const timedOut = lambdaTask(
      'Decide health by timeout',
      props.requestApproval,
      { action: 'healthTimeout', 'node.$': '$.node', 'run.$': '$.run' },
      '$.healthApproval',
    );
    ask.addCatch(timedOut, { resultPath: '$.healthApproval' });
    // Not even the timeout could decide: $.healthApproval holds the error, which record-node takes as abort.
    timedOut.addCatch(record, { resultPath: '$.healthApproval' });
    ask.next(record);
    timedOut.next(record);
    this.ask = ask;

    this.check = lambdaTask('Check health alarms', props.recordNode, { action: 'checkHealth', 'node.$': '$.node', 'run.$': '$.run' }, '$.health');
    this.check.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(2), backoffRate: 2 });
    this.firing = new sfn.Choice(scope, 'Is a health alarm firing?').when(present('$.health.askHealth'), ask);
    this.check.next(this.firing);
    const bake = new sfn.Wait(scope, 'Bake: watch the alarms', { time: sfn.WaitTime.secondsPath('$.run.bakeSeconds') }).next(this.check);
    this.watch = new sfn.Choice(scope, 'Bake after the node?')
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.run.bakeSeconds'), sfn.Condition.numberGreaterThan('$.run.bakeSeconds', 0)), bake)
      .otherwise(this.check);
  }

  /** Where the watch goes on: `afterNode` (the Choice after a node's outcome, which `watched` no longer takes), and the gate. */
  connect(afterNode: sfn.IChainable, gate: sfn.IChainable): void {
    this.whereNext.when(sfn.Condition.isPresent('$.outcome'), afterNode).otherwise(gate);
    this.firing.otherwise(afterNode);
    // The alarms could not be read at all: the node is done ($.health holds the error); the next gate reads them again.
    this.check.addCatch(afterNode, { resultPath: '$.health' });
  }
}
