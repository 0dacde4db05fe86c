import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { STEP_TIMEOUT_SECONDS, deliveryTimeoutSeconds, type StepId } from '../../core/steps.js';
import { ENDS_CHILD, TRANSIENT_RETRY } from './tasks.js';

/** Properties of a {@link RunbookStep}. */
export interface RunbookStepProps {
  /** run-step: sends the SSM command and keeps the task token until command-finished answers it. */
  readonly runStep: lambda.IFunction;
  /** The runbook step to run (its script, its timeout). */
  readonly step: StepId;
  /** JSONPath of the id of the node the step runs on. @default '$.node.id' */
  readonly node?: string;
  /** Where the step's result goes in the state. @default '$.lastStep' */
  readonly resultPath?: string;
  /** Retry after the one reconciling attempt a timeout gets. @default TRANSIENT_RETRY */
  readonly retry?: sfn.RetryProps;
  /** The state ends a Distributed Map child and outputs the empty object (CHILD_OUTPUT). @default false */
  readonly endsChild?: boolean;
}

/**
 * A runbook step on a node: run-step sends the SSM command; command-finished answers the token. A lost
 * status event times the task out: the retry reconciles with GetCommandInvocation (run-step takes over
 * the command its first attempt started; the node never runs the step twice). Transient errors retry.
 */
export class RunbookStep extends tasks.LambdaInvoke {
  constructor(scope: Construct, id: string, props: RunbookStepProps) {
    const node = props.node ?? '$.node.id';
    if (!node.startsWith('$.')) throw new Error(`RunbookStep ${id}: node: expected a JSONPath such as $.node.id, got ${JSON.stringify(node)}`);
    const seconds = STEP_TIMEOUT_SECONDS[props.step];
    super(scope, id, {
      ...(props.endsChild === true ? ENDS_CHILD : {}),
      lambdaFunction: props.runStep,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({
        taskToken: sfn.JsonPath.taskToken,
        step: props.step,
        node: { 'id.$': node },
        'run.$': '$.run',
      }),
      resultPath: props.resultPath ?? '$.lastStep',
      // The command may start as late as its delivery timeout, then run its execution timeout; then its
      // completion event needs time to arrive.
      taskTimeout: sfn.Timeout.duration(Duration.seconds(deliveryTimeoutSeconds(seconds) + seconds + 120)),
    });
    this.addRetry({ errors: [sfn.Errors.TIMEOUT], maxAttempts: 1, interval: Duration.seconds(1) });
    this.addRetry(props.retry ?? TRANSIENT_RETRY);
  }
}
