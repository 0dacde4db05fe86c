import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ContinueOrAbort } from './continue-or-abort.js';
import { FunctionTask, RECORDING_RETRY } from './tasks.js';

/** Properties of the {@link HealthWatch} states. */
export interface HealthWatchProps {
  /** request-approval: asks continue or abort about a firing alarm (an approval of kind `health`). */
  readonly requestApproval: lambda.IFunction;
  /** record-node: reads the run's alarms (`checkHealth`) and records the decision. */
  readonly recordNode: lambda.IFunction;
}

const isTrue = (path: string) => sfn.Condition.and(sfn.Condition.isPresent(path), sfn.Condition.booleanEquals(path, true));

/**
 * Health gates: after a node's version is recorded, a run with `healthAlarms` bakes (`bakeSeconds`), then reads
 * the alarms ("Check health alarms"); the gate reads them too before a node starts. A firing alarm asks the
 * operators continue or abort; no answer in time decides abort. Abort marks the run stopping; either way held
 * nodes go back to the gate. The watch is a branch of the Choice after a node (`watched`), so a run without
 * healthAlarms pays no state for it. Call `connect` once the Choice after a node and the gate exist.
 */
export class HealthWatch extends Construct {
  /** The question, entered from the gate (`$.gate.askHealth`) or from the check after a node. */
  readonly ask: sfn.IChainable;
  /** The run watches alarms and this node's check has not run yet (its result lands in `$.health`). */
  readonly watched = sfn.Condition.and(sfn.Condition.isPresent('$.run.healthAlarms'), sfn.Condition.not(sfn.Condition.isPresent('$.health')));
  /** Bake (if `bakeSeconds` > 0), then check the alarms. */
  readonly watch: sfn.Choice;
  private readonly whereNext: sfn.Choice;
  private readonly firing: sfn.Choice;
  private readonly check: sfn.TaskStateBase;

  constructor(scope: Construct, id: string, props: HealthWatchProps) {
    super(scope, id);
    const question = new ContinueOrAbort(this, 'Question', {
      subject: 'health',
      question: 'continue despite the alarm?',
      resultPath: '$.healthApproval',
      ...props,
    });
    // A node that finished goes on after its outcome; a node the gate stopped asks the gate again.
    this.whereNext = new sfn.Choice(this, 'Had the node finished when the alarm fired?');
    question.next(this.whereNext);
    this.ask = question;

    this.check = new FunctionTask(this, 'Check health alarms', {
      fn: props.recordNode,
      payload: { action: 'checkHealth', 'node.$': '$.node', 'run.$': '$.run' },
      resultPath: '$.health',
    });
    this.check.addRetry(RECORDING_RETRY);
    this.firing = new sfn.Choice(this, 'Is a health alarm firing?').when(isTrue('$.health.askHealth'), question);
    this.check.next(this.firing);
    const bake = new sfn.Wait(this, 'Bake: watch the alarms', { time: sfn.WaitTime.secondsPath('$.run.bakeSeconds') }).next(this.check);
    this.watch = new sfn.Choice(this, 'Bake after the node?')
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
