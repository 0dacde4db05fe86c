import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/** What the failure path of a node needs from the workflow around it. */
export interface FailurePolicyProps {
  /** request-approval: its `policy` action counts the failure and decides. */
  requestApproval: lambda.IFunction;
  /** The workflow's Lambda task factory (retries included). */
  invoke: (name: string, fn: lambda.IFunction, payload: Record<string, unknown>, resultPath: string | undefined) => sfn.TaskStateBase;
  /** "Ask operator": the default, and where a policy that cannot be applied falls back to. */
  askOperator: sfn.IChainable;
  /** The operator's `skip` path: roll back, record, go on. */
  skip: sfn.IChainable;
  /** The operator's `abort` path: record the node as needing attention; the run stops. */
  abort: sfn.IChainable;
}

/**
 * Who decides about a failed window step: the operator (onFailure ask, the default), or the failure budget
 * (rollback-and-continue), which takes the skip path within the budget and the abort path past it, without
 * asking anyone. The decision lands in `$.approval` as an operator's would, so the node is recorded the same way.
 */
export function whoDecides(scope: Construct, props: FailurePolicyProps): sfn.Choice {
  const apply = props.invoke(
    'Apply the failure budget',
    props.requestApproval,
    {
      action: 'policy',
      'node.$': '$.node',
      'run.$': '$.run',
      'error.$': '$.error',
      'failedStep.$': '$.failedStep',
    },
    '$.approval',
  );
  // The budget could not be applied (its Lambda failed past its retries): a person decides, as without the policy.
  apply.addCatch(props.askOperator, { resultPath: '$.policyError' });
  apply.next(
    new sfn.Choice(scope, 'What does the failure budget decide?')
      .when(sfn.Condition.stringEquals('$.approval.decision', 'skip'), props.skip)
      .otherwise(props.abort),
  );
  // onFailure is in the run context only when it is rollback-and-continue.
  return new sfn.Choice(scope, 'Who decides about the failure?')
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.run.onFailure'), sfn.Condition.stringEquals('$.run.onFailure', 'rollback-and-continue')), apply)
    .otherwise(props.askOperator);
}
