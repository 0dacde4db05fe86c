import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { HELD_STATE_NAME } from '../../core/hold.js';
import { STEP_STATE_NAMES, WINDOW_STEPS, type StepId } from '../../core/steps.js';
import { Canary } from './canary.js';
import { HealthWatch } from './health.js';
import { NodeFailure } from './node-failure.js';
import { holdState, isPaused, pausedState } from './paused.js';
import { RunbookStep } from './runbook-step.js';
import { ENDS_CHILD, FunctionTask, RECORDING_RETRY, RecordOutcome } from './tasks.js';

/** Properties of {@link UpgradeNode}. */
export interface UpgradeNodeProps {
  /** run-step: runs each window step on the node. */
  readonly runStep: lambda.IFunction;
  /** record-node: the gate, the holds, the node's outcome. */
  readonly recordNode: lambda.IFunction;
  /** request-approval: the questions to the operators. */
  readonly requestApproval: lambda.IFunction;
}

const isTrue = (path: string) => sfn.Condition.and(sfn.Condition.isPresent(path), sfn.Condition.booleanEquals(path, true));

/**
 * One node's upgrade inside the window, a Distributed Map child: the node was found below the target and its
 * package is already on it. It passes the gate ("May this node start?"), runs pre-upgrade validation, retire
 * (DEA only), backup, upgrade, restart and post-upgrade validation, and records its version; then the health
 * watch and the canary may ask the operators. A failed step goes to {@link NodeFailure}.
 *
 * Iterations never fail (Step Functions would abort the other in-flight nodes mid-step): a node that stops
 * the run marks it, in-flight nodes finish their current node, and no further node starts.
 */
export class UpgradeNode extends sfn.StateMachineFragment {
  /** The gate. */
  readonly startState: sfn.State;
  /** Every path ends the child. */
  readonly endStates: sfn.INextable[] = [];

  constructor(scope: Construct, id: string, props: UpgradeNodeProps) {
    super(scope, id);
    const { runStep, recordNode, requestApproval } = props;
    const canary = new Canary(this, 'Canary', { requestApproval, recordNode });
    const failure = new NodeFailure(this, 'Failure', { requestApproval, recordNode, runStep, canary });

    const steps = new Map<StepId, RunbookStep>(WINDOW_STEPS.map((step) => [step, new RunbookStep(this, STEP_STATE_NAMES[step], { runStep, step })]));
    const at = (step: StepId): RunbookStep => steps.get(step) as RunbookStep;
    const recordVersion = new RecordOutcome(this, 'Record version', { recordNode, payload: { action: 'upgraded', 'node.$': '$.node', 'run.$': '$.run' } });
    recordVersion.addCatch(failure.recordFailure, { resultPath: '$.error' });
    const health = new HealthWatch(this, 'Health', { requestApproval, recordNode });
    // With healthAlarms, the node's outcome first goes to the alarms' watch (its own branch: no state for runs without).
    const afterNode = canary.after('Is the canary complete?', new sfn.Succeed(this, 'Node upgraded', ENDS_CHILD), { when: health.watched, then: health.watch });
    recordVersion.next(afterNode);
    const isDea = new sfn.Choice(this, 'Is it a DEA node?')
      // Node items carry `retire` only when true (thousands of nodes share one 256 KiB payload).
      .when(isTrue('$.node.retire'), at('retire'))
      .otherwise(at('backup'));
    at('pre-upgrade-validation').next(isDea);
    at('retire').next(at('backup'));
    at('backup').next(at('upgrade')).next(at('restart')).next(at('post-upgrade-validation')).next(recordVersion);

    const gate = new FunctionTask(this, 'May this node start?', {
      fn: recordNode,
      payload: { action: 'gate', 'node.$': '$.node', 'run.$': '$.run' },
      resultPath: '$.gate',
    });
    gate.addRetry(RECORDING_RETRY);
    // A failed node's open question holds every node that has not started: it waits (a task token, no polling)
    // until the decision is applied, then asks the gate again. The timeout only guards against a lost release.
    const held = holdState(this, HELD_STATE_NAME, recordNode, gate, {
      waitingFor: { 'waitingFor.$': '$.gate.waitingFor' },
      timeout: sfn.Timeout.duration(Duration.hours(1)),
    });
    health.connect(afterNode, gate);
    const resumedAt = (step: StepId) => sfn.Condition.and(sfn.Condition.isPresent('$.node.resumeAt'), sfn.Condition.stringEquals('$.node.resumeAt', step));
    gate.next(
      new sfn.Choice(this, 'Is the run stopping, or is the node resumed?')
        .when(isTrue('$.gate.held'), held)
        // A health alarm fired and this node asks about it (the others are held); then it asks the gate again.
        .when(isTrue('$.gate.askHealth'), health.ask)
        .when(isPaused, pausedState(this, recordNode, gate))
        .when(sfn.Condition.booleanEquals('$.gate.go', false), new sfn.Succeed(this, 'Not started: the run is stopping', ENDS_CHILD))
        // A resumed run: a node the earlier run left mid-window goes on from the step its checkpoints say (core/resume.ts interruptedNodes).
        .when(resumedAt('restart'), at('restart'))
        .when(resumedAt('backup'), at('backup'))
        .otherwise(at('pre-upgrade-validation')),
    );
    failure.catchFailuresOf(steps);
    this.startState = gate;
  }
}
