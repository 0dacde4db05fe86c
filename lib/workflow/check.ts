import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { STEP_STATE_NAMES } from '../../core/steps.js';
import { RunbookStep } from './runbook-step.js';
import { CHILD_OUTPUT, ENDS_CHILD, FunctionTask } from './tasks.js';

/** Nodes checked at once before the window (self-update and version check only: read-mostly, safe in parallel). */
const CHECK_CONCURRENCY = 10;

/** Properties of {@link PlanAndCheck}. */
export interface PlanAndCheckProps {
  /** plan: the plan, then which nodes the window upgrades. */
  readonly plan: lambda.IFunction;
  /** run-step: the checks on each node. */
  readonly runStep: lambda.IFunction;
  /** record-node: records a node whose check failed. */
  readonly recordNode: lambda.IFunction;
  /** Where a failure goes: nothing has changed on any node yet, so only the lock is released. */
  readonly onFailure: sfn.IChainable;
}

/**
 * Before the window: plan the upgrade, then every node brings its tooling current and reports its version, and
 * a node that needs the upgrade downloads and verifies its package — in parallel (bounded), so nodes already at
 * the target never enter the window, maintenance mode is not switched on when no node needs it, and the window
 * holds no download (kato's --prepare, done for every node at once). Then decide which nodes to upgrade.
 * Chain what follows the decision with `next`.
 */
export class PlanAndCheck extends sfn.StateMachineFragment {
  /** Plan upgrade. */
  readonly startState: sfn.State;
  /** Decide which nodes to upgrade. */
  readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: PlanAndCheckProps) {
    super(scope, id);
    // The node list stays out of the state data (validate-input drops it): the plan reads it from the execution input.
    const planUpgrade = new FunctionTask(this, 'Plan upgrade', {
      fn: props.plan,
      payload: { 'input.$': '$.input', 'executionInput.$': '$$.Execution.Input', 'run.$': '$.run' },
      resultPath: '$.plan',
    });

    const recordCheckFailure = new FunctionTask(this, 'Record check failure', {
      fn: props.recordNode,
      payload: { action: 'failed', 'node.$': '$.node', 'run.$': '$.run', 'error.$': '$.error' },
      resultPath: '$.outcome',
    }).next(
      new sfn.Pass(this, 'Node check failed', {
        ...ENDS_CHILD,
        // The iteration ends normally: the other nodes' checks finish (none is cut off mid-command), and
        // "Decide which nodes to upgrade" stops the run, naming every node that failed, before the window.
        comment: 'nothing was changed on this node; see Record check failure and the run summary',
      }),
    );
    const checked = <T extends sfn.TaskStateBase>(task: T): T => {
      task.addCatch(recordCheckFailure, { resultPath: '$.error' });
      return task;
    };
    const step = (step: 'self-update' | 'version-check' | 'download', endsChild = false) =>
      checked(new RunbookStep(this, STEP_STATE_NAMES[step], { runStep: props.runStep, step, endsChild }));
    const checkNode = step('self-update')
      .next(step('version-check'))
      .next(
        new sfn.Choice(this, 'Does this node need the upgrade?')
          .when(
            sfn.Condition.and(sfn.Condition.booleanEquals('$.lastStep.atTarget', true), sfn.Condition.booleanEquals('$.run.force', false)),
            new sfn.Succeed(this, 'Already at target version', ENDS_CHILD),
          )
          .otherwise(step('download', true)),
      );
    const checkNodes = new sfn.DistributedMap(this, 'Check every node', {
      label: 'CheckNodes',
      mapExecutionType: sfn.StateMachineType.STANDARD,
      itemsPath: '$.plan.order',
      maxConcurrency: CHECK_CONCURRENCY,
      itemSelector: { node: { 'id.$': '$$.Map.Item.Value' }, 'run.$': '$.run', [CHILD_OUTPUT.key]: {} },
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(checkNode);
    const decideNodes = new FunctionTask(this, 'Decide which nodes to upgrade', {
      fn: props.plan,
      payload: { 'input.$': '$.input', 'run.$': '$.run', phase: 'decide' },
      resultPath: '$.plan',
    });
    for (const state of [planUpgrade, checkNodes, decideNodes]) state.addCatch(props.onFailure, { resultPath: '$.error' });
    planUpgrade.next(checkNodes).next(decideNodes);
    this.startState = planUpgrade;
    this.endStates = [decideNodes];
  }
}
