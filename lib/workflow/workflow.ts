import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { PlanAndCheck } from './check.js';
import { Cleanup } from './cleanup.js';
import { FailurePath } from './failure-path.js';
import { FunctionTask } from './tasks.js';
import { UpgradeWindow } from './window.js';

/** Properties of the {@link UpgradeWorkflow}: the functions it invokes. */
export interface UpgradeWorkflowProps {
  /** validate-input: the input schema; bad input ends the execution before anything is recorded. */
  readonly validateInput: lambda.IFunction;
  /** lock: takes and releases the cluster lock. */
  readonly lock: lambda.IFunction;
  /** plan: the plan, and which nodes need the upgrade. */
  readonly plan: lambda.IFunction;
  /** run-step: every runbook step on a node. */
  readonly runStep: lambda.IFunction;
  /** record-node: the gate, the holds and each node's outcome. */
  readonly recordNode: lambda.IFunction;
  /** summarize: the run's summary, the execution's output. */
  readonly summarize: lambda.IFunction;
  /** request-approval: every question to the operators and every notification. */
  readonly requestApproval: lambda.IFunction;
}

/**
 * The upgrade state machine, every state named for what an operator reads in the console: validate the input;
 * a dry run only plans; otherwise take the lock, plan and check every node ({@link PlanAndCheck}), open the
 * maintenance window if a node needs the upgrade ({@link UpgradeWindow}), then release the lock and summarize
 * ({@link Cleanup}). Every failure after the lock is taken goes through the {@link FailurePath}.
 */
export class UpgradeWorkflow extends sfn.StateMachineFragment {
  /** Validate input. */
  readonly startState: sfn.State;
  /** Every path ends the execution. */
  readonly endStates: sfn.INextable[] = [];

  constructor(scope: Construct, id: string, props: UpgradeWorkflowProps) {
    super(scope, id);
    const { lock, plan, runStep, recordNode, summarize, requestApproval } = props;
    // The failure path first: every phase after the lock sends its failures there.
    const failurePath = new FailurePath(this, 'FailurePath', { runStep, requestApproval, lock, summarize });
    const window = new UpgradeWindow(this, 'Window', {
      runStep,
      recordNode,
      requestApproval,
      onFailure: failurePath.maintenanceOff,
      onMaintenanceStillOn: failurePath.notifyMaintenanceStillOn,
    });
    const check = new PlanAndCheck(this, 'Check', { plan, runStep, recordNode, onFailure: failurePath.releaseLock });
    const cleanup = new Cleanup(this, 'Cleanup', { lock, summarize, failed: failurePath.upgradeFailed });
    window.next(cleanup);

    const validate = new tasks.LambdaInvoke(this, 'Validate input', {
      lambdaFunction: props.validateInput,
      payload: sfn.TaskInput.fromObject({ 'input.$': '$', 'runId.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime' }),
      payloadResponseOnly: true,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(1)),
    });
    const dryRun = new FunctionTask(this, 'Plan only', {
      fn: plan,
      payload: { 'input.$': '$.input', 'executionInput.$': '$$.Execution.Input', 'run.$': '$.run', dryRun: true },
      resultPath: '$.plan',
    }).next(new sfn.Succeed(this, 'Dry run finished', { outputPath: '$.plan.plan' }));
    const acquireLock = new FunctionTask(this, 'Acquire cluster lock', {
      fn: lock,
      payload: { action: 'acquire', 'cluster.$': '$.run.cluster', 'runId.$': '$.run.runId' },
      resultPath: '$.lock',
    });
    validate.next(
      new sfn.Choice(this, 'Is this a dry run?').when(sfn.Condition.booleanEquals('$.input.dryRun', true), dryRun).otherwise(
        acquireLock.next(check).next(
          new sfn.Choice(this, 'Does any node need the upgrade?')
            .when(
              sfn.Condition.and(sfn.Condition.numberGreaterThan('$.plan.upgradeCount', 0), sfn.Condition.booleanEquals('$.input.prepareOnly', false)),
              window,
            )
            // Every node is at the target already, or the run only prepares: maintenance mode is never switched on.
            .otherwise(cleanup),
        ),
      ),
    );
    this.startState = validate;
  }
}
