import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { STEP_STATE_NAMES, WINDOW_STEPS, type StepId } from '../../core/steps.js';
import type { Canary } from './canary.js';
import { RunbookStep } from './runbook-step.js';
import { ENDS_CHILD, FunctionTask, RESTORE_RETRY, RecordOutcome } from './tasks.js';

/** Properties of the {@link NodeFailure} states. */
export interface NodeFailureProps {
  /** request-approval: asks the operator, decides by timeout or by the failure budget, notifies a failed rollback. */
  readonly requestApproval: lambda.IFunction;
  /** record-node: records the node's outcome. */
  readonly recordNode: lambda.IFunction;
  /** run-step: runs the rollback. */
  readonly runStep: lambda.IFunction;
  /** The canary: a skipped node may be the one that completes it. */
  readonly canary: Canary;
}

/**
 * What happens to a node after a window step failed. Who decides: the operator (onFailure ask, the default:
 * an email link or the CLI, and a wait; no answer in time → onTimeout), or the failure budget
 * (rollback-and-continue), which takes the skip path within the budget and the abort path past it, without
 * asking anyone. The decision lands in `$.approval` either way, so the node is recorded the same way: retry
 * runs the failed step again, rollback and skip restore the node, abort leaves it for attention.
 * Call `catchFailuresOf` with the window's steps once they are chained.
 */
export class NodeFailure extends Construct {
  /** Without a usable decision (the approval Lambda itself failed), the node is recorded failed and the run stops. */
  readonly recordFailure: sfn.IChainable;
  private readonly askOperator: tasks.LambdaInvoke;
  private readonly decideByTimeout: sfn.TaskStateBase;
  private readonly rollback: sfn.IChainable;
  private readonly skip: sfn.IChainable;
  private readonly abort: sfn.IChainable;
  private readonly whoDecides: sfn.Choice;

  constructor(scope: Construct, id: string, props: NodeFailureProps) {
    super(scope, id);
    const failed = new RecordOutcome(this, 'Record node failure', {
      recordNode: props.recordNode,
      payload: { action: 'failed', 'node.$': '$.node', 'run.$': '$.run', 'error.$': '$.error' },
    });
    this.recordFailure = failed.next(
      new sfn.Succeed(this, 'Node upgrade failed', {
        ...ENDS_CHILD,
        comment: 'a step failed on this node and the run stops; see Record node failure and the run summary for the step and its output',
      }),
    );

    this.askOperator = new tasks.LambdaInvoke(this, 'Ask operator', {
      lambdaFunction: props.requestApproval,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      // enteredAt: the approval's link expires with this task, counted from when its timer could start, not from the function's clock.
      payload: sfn.TaskInput.fromObject({
        action: 'ask',
        taskToken: sfn.JsonPath.taskToken,
        'node.$': '$.node',
        'run.$': '$.run',
        'error.$': '$.error',
        'failedStep.$': '$.failedStep',
        'enteredAt.$': '$$.State.EnteredTime',
      }),
      resultPath: '$.approval',
      taskTimeout: sfn.Timeout.at('$.run.approvalTimeoutSeconds'),
    });
    this.decideByTimeout = new FunctionTask(this, 'Decide by timeout', {
      fn: props.requestApproval,
      payload: { action: 'timeout', 'node.$': '$.node', 'run.$': '$.run' },
      resultPath: '$.approval',
    });
    // No answer in time — or no way to ask (the notification failed): onTimeout decides, so a node that
    // changed is not left half-upgraded for want of a human.
    this.askOperator.addCatch(this.decideByTimeout, { resultPath: '$.approvalTimeout' });
    this.decideByTimeout.addCatch(this.recordFailure, { resultPath: '$.approvalError' });

    // A rollback that fails leaves the node in an unknown state: recorded, a second notification, the run stops.
    const rollbackFailed = new RecordOutcome(this, 'Record failed rollback', {
      recordNode: props.recordNode,
      payload: { action: 'needsAttention', rollbackFailed: true, 'node.$': '$.node', 'run.$': '$.run', 'approval.$': '$.approval' },
    })
      .next(
        new FunctionTask(this, 'Notify failed rollback', {
          fn: props.requestApproval,
          payload: { action: 'rollbackFailed', 'node.$': '$.node', 'run.$': '$.run', 'error.$': '$.rollbackError' },
          resultPath: '$.notified',
        }),
      )
      .next(new sfn.Succeed(this, 'Rollback failed', { ...ENDS_CHILD, comment: 'the node could not be rolled back and needs attention; the run stops' }));
    const rollBack = (name: string) => {
      const task = new RunbookStep(this, name, { runStep: props.runStep, step: 'rollback', resultPath: '$.rollback', retry: RESTORE_RETRY });
      task.addCatch(rollbackFailed, { resultPath: '$.rollbackError' });
      return task;
    };
    const recorded = (name: string, action: string) =>
      new RecordOutcome(this, name, { recordNode: props.recordNode, payload: { action, 'node.$': '$.node', 'run.$': '$.run', 'approval.$': '$.approval' } });
    this.rollback = rollBack('Roll back node')
      .next(recorded('Record rollback', 'rolledBack'))
      .next(new sfn.Succeed(this, 'Node rolled back', { ...ENDS_CHILD, comment: 'the operator (or the timeout) rolled this node back; the run stops' }));
    this.skip = rollBack('Roll back node and skip it')
      .next(recorded('Record skipped node', 'rolledBack'))
      .next(
        props.canary.after(
          'Is the canary complete after the skip?',
          new sfn.Succeed(this, 'Node skipped', { ...ENDS_CHILD, comment: 'restored to its old version; the run continues with the other nodes' }),
        ),
      );
    this.abort = recorded('Record node needing attention', 'needsAttention').next(
      new sfn.Succeed(this, 'Upgrade aborted', {
        ...ENDS_CHILD,
        comment: 'the operator (or, past its budget, the failure budget) aborted the run; the node was left as it was and needs attention',
      }),
    );

    const applyBudget = new FunctionTask(this, 'Apply the failure budget', {
      fn: props.requestApproval,
      payload: { action: 'policy', 'node.$': '$.node', 'run.$': '$.run', 'error.$': '$.error', 'failedStep.$': '$.failedStep' },
      resultPath: '$.approval',
    });
    // The budget could not be applied (its Lambda failed past its retries): a person decides, as without the policy.
    applyBudget.addCatch(this.askOperator, { resultPath: '$.policyError' });
    applyBudget.next(
      new sfn.Choice(this, 'What does the failure budget decide?')
        .when(sfn.Condition.stringEquals('$.approval.decision', 'skip'), this.skip)
        .otherwise(this.abort),
    );
    // onFailure is in the run context only when it is rollback-and-continue.
    this.whoDecides = new sfn.Choice(this, 'Who decides about the failure?')
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.run.onFailure'), sfn.Condition.stringEquals('$.run.onFailure', 'rollback-and-continue')), applyBudget)
      .otherwise(this.askOperator);
  }

  /**
   * Sends each window step's failure here, and the operator's retry back to the failed step. Each failure first
   * notes which step failed: when run-step itself crashed or the step timed out, no checkpoint says so, and
   * retry must run this step again, not another.
   */
  catchFailuresOf(steps: ReadonlyMap<StepId, sfn.TaskStateBase>): void {
    const stepOf = (id: StepId): sfn.TaskStateBase => {
      const step = steps.get(id);
      if (step === undefined) throw new Error(`NodeFailure: no state for the window step ${id}`);
      return step;
    };
    for (const id of WINDOW_STEPS) {
      const noted = new sfn.Pass(this, `${STEP_STATE_NAMES[id]} step failed`, { result: sfn.Result.fromString(id), resultPath: '$.failedStep' });
      noted.next(this.whoDecides);
      stepOf(id).addCatch(noted, { resultPath: '$.error' });
    }
    const retryStep = new sfn.Choice(this, 'Which step to retry?');
    for (const id of WINDOW_STEPS) retryStep.when(sfn.Condition.stringEquals('$.approval.failedStep', id), stepOf(id));
    retryStep.otherwise(this.recordFailure);
    this.askOperator.next(
      new sfn.Choice(this, 'What did the operator decide?')
        .when(sfn.Condition.stringEquals('$.approval.decision', 'retry'), retryStep)
        .when(sfn.Condition.stringEquals('$.approval.decision', 'rollback'), this.rollback)
        .when(sfn.Condition.stringEquals('$.approval.decision', 'skip'), this.skip)
        .when(sfn.Condition.stringEquals('$.approval.decision', 'abort'), this.abort)
        .otherwise(this.recordFailure),
    );
    this.decideByTimeout.next(
      new sfn.Choice(this, 'What does the timeout decide?')
        .when(sfn.Condition.stringEquals('$.approval.decision', 'abort'), this.abort)
        .otherwise(this.rollback),
    );
  }
}
