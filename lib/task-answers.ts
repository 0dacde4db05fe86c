import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** The task-token answers a function sends (none of ours sends heartbeats). */
export type TaskAnswer = 'states:SendTaskSuccess' | 'states:SendTaskFailure';

/**
 * Lets a function answer the task tokens of the state machine's executions and of its Distributed Map
 * children: Step Functions checks a child's token against `<state machine ARN>/<map label>`, and the
 * node steps and approvals all wait inside children.
 */
export function taskAnswerStatement(machine: sfn.IStateMachine, actions: readonly TaskAnswer[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ actions: [...actions], resources: [machine.stateMachineArn, `${machine.stateMachineArn}/*`] });
}
