import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { CLOSING_RETRY, FunctionTask } from './tasks.js';

/** Properties of the {@link Cleanup}. */
export interface CleanupProps {
  /** lock: releases the cluster lock. */
  readonly lock: lambda.IFunction;
  /** summarize: the run's summary, from DynamoDB. */
  readonly summarize: lambda.IFunction;
  /** Where a run that did not upgrade every node ends (the failure path's end). */
  readonly failed: sfn.IChainable;
}

/**
 * The end of a run that did not take the failure path: the lock released, the summary built from what the nodes
 * reported (the execution's output and the run record), and the verdict. A run whose nodes were all at the
 * target already, or that only prepares, comes here straight from the check.
 */
export class Cleanup extends sfn.StateMachineFragment {
  /** Release cluster lock. */
  readonly startState: sfn.State;
  /** Every path ends the execution. */
  readonly endStates: sfn.INextable[] = [];

  constructor(scope: Construct, id: string, props: CleanupProps) {
    super(scope, id);
    const releaseLock = new FunctionTask(this, 'Release cluster lock', {
      fn: props.lock,
      payload: { action: 'release', 'cluster.$': '$.run.cluster', 'runId.$': '$.run.runId' },
      resultPath: '$.lockRelease',
    }).addRetry(CLOSING_RETRY);
    const summarize = new FunctionTask(this, 'Summarize', {
      fn: props.summarize,
      payload: { 'run.$': '$.run', 'lock.$': '$.lockRelease' },
      resultPath: '$.summary',
    }).addRetry(CLOSING_RETRY);
    releaseLock
      .next(summarize)
      .next(
        new sfn.Choice(this, 'Did every node upgrade?')
          .when(
            sfn.Condition.or(sfn.Condition.stringEquals('$.summary.status', 'SUCCEEDED'), sfn.Condition.stringEquals('$.summary.status', 'PREPARED')),
            new sfn.Succeed(this, 'Upgrade finished', { outputPath: '$.summary' }),
          )
          .otherwise(props.failed),
      );
    this.startState = releaseLock;
  }
}
