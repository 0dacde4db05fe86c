import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { PAUSE_HOLDER, PAUSED_STATE_NAME } from '../../core/pause.js';
import { TRANSIENT_RETRY } from './tasks.js';

/**
 * Where a node waits while an operator has paused the run (`fleet-upgrade pause`): a task token that `resume`
 * (or the run stopping) answers, so nothing polls. The gate hands it `recheckSeconds`: the state times out at the
 * pause's limit (or within the hour) and asks the gate again, which then stops the run if the limit passed.
 */
export function pausedState(scope: Construct, recordNode: lambda.IFunction, gate: sfn.IChainable): sfn.State {
  return holdState(scope, PAUSED_STATE_NAME, recordNode, gate, {
    waitingFor: {
      waitingFor: [PAUSE_HOLDER],
      // Passed through so that the rehearsal's engine (which reads TimeoutSecondsPath after Parameters) sees it too.
      'recheckSeconds.$': '$.gate.recheckSeconds',
    },
    timeout: sfn.Timeout.at('$.gate.recheckSeconds'),
  });
}

/**
 * A node waiting on a task token (record-node's `hold`) until what it waits for is released; on its timeout it
 * asks the gate again, as after a release.
 */
export function holdState(
  scope: Construct,
  id: string,
  recordNode: lambda.IFunction,
  gate: sfn.IChainable,
  opts: { waitingFor: Record<string, unknown>; timeout: sfn.Timeout },
): sfn.State {
  const hold = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: recordNode,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({ action: 'hold', taskToken: sfn.JsonPath.taskToken, 'node.$': '$.node', 'run.$': '$.run', ...opts.waitingFor }),
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: opts.timeout,
  }).addRetry(TRANSIENT_RETRY);
  hold.addCatch(gate, { errors: [sfn.Errors.TIMEOUT], resultPath: sfn.JsonPath.DISCARD });
  hold.next(gate);
  return hold;
}

/** The gate said the run is paused. */
export const isPaused = sfn.Condition.and(sfn.Condition.isPresent('$.gate.paused'), sfn.Condition.booleanEquals('$.gate.paused', true));
