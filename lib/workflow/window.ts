import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { RunbookStep } from './runbook-step.js';
import { CHILD_OUTPUT, FunctionTask, RESTORE_RETRY } from './tasks.js';
import { UpgradeNode } from './upgrade-node.js';

/** Properties of the {@link UpgradeWindow}. */
export interface UpgradeWindowProps {
  /** run-step: maintenance mode and every node's steps. */
  readonly runStep: lambda.IFunction;
  /** record-node: the gate, the holds, the nodes' outcomes, the group's stop check. */
  readonly recordNode: lambda.IFunction;
  /** request-approval: the questions to the operators. */
  readonly requestApproval: lambda.IFunction;
  /** Where a failure inside the window goes: maintenance mode off, then the failure path. */
  readonly onFailure: sfn.IChainable;
  /** Where the run goes when maintenance mode cannot be switched off at the end of the window. */
  readonly onMaintenanceStillOn: sfn.IChainable;
}

/**
 * The maintenance window: maintenance mode on (on the core node), the groups in role order, each group's nodes
 * in parallel as far as its concurrency allows ({@link UpgradeNode}), then maintenance mode off. Chain what
 * follows the window with `next`.
 *
 * Every Map runs as a Distributed Map: each iteration is a child execution with its own history, so the
 * parent's history grows by a handful of events per Map, not per node (25,000-event limit), and one execution
 * handles thousands of nodes. Children are STANDARD: they wait on task tokens.
 */
export class UpgradeWindow extends sfn.StateMachineFragment {
  /** Maintenance mode on. */
  readonly startState: sfn.State;
  /** Maintenance mode off. */
  readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: UpgradeWindowProps) {
    super(scope, id);
    const maintenanceOn = new RunbookStep(this, 'Enable maintenance mode', {
      runStep: props.runStep,
      step: 'maintenance-on',
      node: '$.plan.coreNode',
      resultPath: '$.maintenanceOn',
    });
    maintenanceOn.addCatch(props.onFailure, { resultPath: '$.error' });

    const upgradeNode = new UpgradeNode(this, 'Node', { runStep: props.runStep, recordNode: props.recordNode, requestApproval: props.requestApproval });
    const upgradeNodes = new sfn.DistributedMap(this, 'Upgrade nodes of the group', {
      label: 'UpgradeNodes',
      mapExecutionType: sfn.StateMachineType.STANDARD,
      itemsPath: '$.group.nodes',
      maxConcurrencyPath: '$.group.concurrency',
      itemSelector: { 'node.$': '$$.Map.Item.Value', 'run.$': '$.run', [CHILD_OUTPUT.key]: {} },
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(upgradeNode);
    // A node that failed, was rolled back or aborted marked the run stopped: the group fails here, after its
    // in-flight nodes finished, and the run takes the failure path (maintenance mode off, lock released).
    const groupDone = upgradeNodes.next(
      new FunctionTask(this, 'Stop if a node stopped the run', {
        fn: props.recordNode,
        payload: { action: 'checkStop', node: { 'id.$': '$.group.role' }, 'run.$': '$.run' },
        endsChild: true,
      }),
    );
    // Distributed too: a Distributed Map may run inside another one's child workflow, not inside an Inline Map.
    const upgradeGroups = new sfn.DistributedMap(this, 'Upgrade groups in role order', {
      label: 'UpgradeGroups',
      mapExecutionType: sfn.StateMachineType.STANDARD,
      itemsPath: '$.plan.groups',
      // Groups run strictly one after another.
      maxConcurrency: 1,
      itemSelector: { 'group.$': '$$.Map.Item.Value', 'run.$': '$.run', [CHILD_OUTPUT.key]: {} },
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(groupDone);
    upgradeGroups.addCatch(props.onFailure, { resultPath: '$.error' });

    const maintenanceOff = new RunbookStep(this, 'Disable maintenance mode', {
      runStep: props.runStep,
      step: 'maintenance-off',
      node: '$.plan.coreNode',
      resultPath: '$.maintenanceOff',
      retry: RESTORE_RETRY,
    });
    maintenanceOff.addCatch(props.onMaintenanceStillOn, { resultPath: '$.error' });
    maintenanceOn.next(upgradeGroups).next(maintenanceOff);
    this.startState = maintenanceOn;
    this.endStates = [maintenanceOff];
  }
}
