import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ContinueOrAbort } from './continue-or-abort.js';
import { ENDS_CHILD } from './tasks.js';

/** Properties of the {@link Canary} states. */
export interface CanaryProps {
  /** request-approval: asks continue or abort after the canary (an approval of kind `canary`). */
  readonly requestApproval: lambda.IFunction;
  /** record-node: says which node completed the canary (`askCanary`) and records the decision. */
  readonly recordNode: lambda.IFunction;
}

/**
 * Canary, then widen: the node whose outcome completed the canary (record-node answers `askCanary`) asks the
 * operators continue or abort and waits; no answer in time decides abort. Abort marks the run stopping; either
 * way the nodes the gate held go back to it. The other nodes pass straight through.
 */
export class Canary extends Construct {
  private readonly question: ContinueOrAbort;

  constructor(scope: Construct, id: string, props: CanaryProps) {
    super(scope, id);
    this.question = new ContinueOrAbort(this, 'Question', { subject: 'canary', question: 'continue after the canary?', ...props });
    this.question.next(
      new sfn.Succeed(this, 'Canary decided', {
        ...ENDS_CHILD,
        comment: 'continue: the held nodes start; abort: the run stops, the canary nodes stay at the target',
      }),
    );
  }

  /**
   * After a node's outcome: ask about the canary if this node completed it, else end the child as `end` says.
   * `first`: a branch tested before the canary's (the health watch), so it costs no state of its own.
   */
  after(choiceName: string, end: sfn.Succeed, first?: { when: sfn.Condition; then: sfn.IChainable }): sfn.Choice {
    const choice = new sfn.Choice(this, choiceName);
    if (first !== undefined) choice.when(first.when, first.then);
    return choice
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.outcome.askCanary'), sfn.Condition.booleanEquals('$.outcome.askCanary', true)), this.question)
      .otherwise(end);
  }
}
