import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { STEP_FAILED } from '../../core/errors.js';

/**
 * Errors worth another attempt with backoff and jitter: Lambda's own service errors, throttling and
 * transient AWS errors that outlasted the SDK's retries inside the handler, and a crash ("Error"). A step's
 * own failure (StepFailed) is not among them: the operator decides about that.
 */
export const TRANSIENT_ERRORS = [
  'Error',
  // A function that ran past its timeout (Lambda's errorType; Step Functions' docs also name Lambda.Unknown):
  // every handler is idempotent, and run-step's retry takes over a command its first attempt sent.
  'Sandbox.Timedout',
  'Lambda.Unknown',
  'Lambda.TooManyRequestsException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
];

/** Every Lambda task's retry of transient errors. */
export const TRANSIENT_RETRY: sfn.RetryProps = {
  errors: TRANSIENT_ERRORS,
  maxAttempts: 2,
  interval: Duration.seconds(2),
  backoffRate: 2,
  jitterStrategy: sfn.JitterType.FULL,
};

/**
 * Rollback and switching maintenance mode off restore a known state and are idempotent: one bad moment
 * (a failed attempt, a crash) must not leave a node half-upgraded or the cluster in maintenance.
 */
export const RESTORE_RETRY: sfn.RetryProps = { ...TRANSIENT_RETRY, errors: [STEP_FAILED, ...TRANSIENT_ERRORS], maxAttempts: 3 };

/**
 * Recording is idempotent and must not fail the iteration (that would abort the nodes in flight): a task that
 * only records, or asks the gate, is retried on any error too.
 */
export const RECORDING_RETRY: sfn.RetryProps = { errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(2), backoffRate: 2 };

/** Releasing the lock and summarizing are idempotent and end every path: a crash there is retried. */
export const CLOSING_RETRY: sfn.RetryProps = { errors: [sfn.Errors.ALL], maxAttempts: 3, interval: Duration.seconds(2), backoffRate: 2 };

/**
 * What every Distributed Map child hands back: an empty object its ItemSelector puts in, selected by the
 * OutputPath of each state that ends a child. A Distributed Map gathers its children's outputs into its
 * result even with ResultPath null, and past 256 KiB the execution fails with
 * States.DataLimitExceeded, which no Catch takes; a child ending with its whole state reaches that at a
 * few hundred nodes.
 */
export const CHILD_OUTPUT = { key: 'childOutput', path: '$.childOutput' } as const;

/** Props of a state that ends a Distributed Map child: it outputs the empty object, at no extra transition. */
export const ENDS_CHILD = { outputPath: CHILD_OUTPUT.path };

/** Properties of a {@link FunctionTask}. */
export interface FunctionTaskProps {
  /** The function to invoke. */
  readonly fn: lambda.IFunction;
  /** The function's event, JSONPath fields included (`'run.$': '$.run'`). */
  readonly payload: Record<string, unknown>;
  /** Where the function's answer goes in the state. @default the answer is discarded */
  readonly resultPath?: string;
  /** The state ends a Distributed Map child and outputs the empty object (CHILD_OUTPUT). @default false */
  readonly endsChild?: boolean;
}

/**
 * A Lambda task that waits for the function's answer (its payload only), for 2 minutes at most, and retries
 * transient errors (TRANSIENT_RETRY) after Lambda's own service-exception retry.
 */
export class FunctionTask extends tasks.LambdaInvoke {
  constructor(scope: Construct, id: string, props: FunctionTaskProps) {
    super(scope, id, {
      ...(props.endsChild === true ? ENDS_CHILD : {}),
      lambdaFunction: props.fn,
      payload: sfn.TaskInput.fromObject(props.payload),
      payloadResponseOnly: true,
      resultPath: props.resultPath ?? sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
    });
    this.addRetry(TRANSIENT_RETRY);
  }
}

/** Properties of a {@link RecordOutcome}. */
export interface RecordOutcomeProps {
  /** record-node. */
  readonly recordNode: lambda.IFunction;
  /** record-node's event: the action and what it records. */
  readonly payload: Record<string, unknown>;
}

/** record-node records how a node's upgrade ended; its answer, the outcome, lands in `$.outcome`. Retried on any error (RECORDING_RETRY). */
export class RecordOutcome extends FunctionTask {
  constructor(scope: Construct, id: string, props: RecordOutcomeProps) {
    super(scope, id, { fn: props.recordNode, payload: props.payload, resultPath: '$.outcome' });
    this.addRetry(RECORDING_RETRY);
  }
}
