import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { FunctionTask, RECORDING_RETRY } from './tasks.js';

/** Properties of a {@link ContinueOrAbort} question. */
export interface ContinueOrAbortProps {
  /**
   * What the question is about (the approval's kind); it names the actions and states: `ask<Subject>` and
   * `<subject>Timeout` (request-approval), `<subject>Decided` (record-node), "Decide <subject> by timeout",
   * "Record <subject> decision".
   */
  readonly subject: 'canary' | 'health';
  /** The question as the operator reads it in the console: the state is "Ask operator: <question>". */
  readonly question: string;
  /** request-approval: asks (page, email, `decide`), and decides when no answer comes in time. */
  readonly requestApproval: lambda.IFunction;
  /** record-node: records the decision; abort marks the run stopping, and either way held nodes go back to the gate. */
  readonly recordNode: lambda.IFunction;
  /** Where the decision lands in the state. @default '$.approval' */
  readonly resultPath?: string;
}

/**
 * A question to the operators with two answers, continue or abort: the node that raised it asks and waits
 * (a task token); no answer in time, or no way to ask, decides abort. Then record-node records the decision.
 * Chain what follows the recording with `next`.
 */
export class ContinueOrAbort extends sfn.StateMachineFragment {
  /** The question: the state that asks and waits. */
  readonly startState: sfn.State;
  /** The recording of the decision. */
  readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: ContinueOrAbortProps) {
    super(scope, id);
    const resultPath = props.resultPath ?? '$.approval';
    if (!resultPath.startsWith('$.')) throw new Error(`ContinueOrAbort ${id}: resultPath: expected a JSONPath such as $.approval, got ${resultPath}`);
    const subject = props.subject;
    const Subject = `${subject.charAt(0).toUpperCase()}${subject.slice(1)}`;
    const record = new FunctionTask(this, `Record ${subject} decision`, {
      fn: props.recordNode,
      payload: { action: `${subject}Decided`, 'node.$': '$.node', 'run.$': '$.run', 'approval.$': resultPath },
    });
    record.addRetry(RECORDING_RETRY);
    const ask = new tasks.LambdaInvoke(this, `Ask operator: ${props.question}`, {
      lambdaFunction: props.requestApproval,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({
        action: `ask${Subject}`,
        taskToken: sfn.JsonPath.taskToken,
        'node.$': '$.node',
        'run.$': '$.run',
        'enteredAt.$': '$$.State.EnteredTime',
      }),
      resultPath,
      taskTimeout: sfn.Timeout.at('$.run.approvalTimeoutSeconds'),
    });
    const timedOut = new FunctionTask(this, `Decide ${subject} by timeout`, {
      fn: props.requestApproval,
      payload: { action: `${subject}Timeout`, 'node.$': '$.node', 'run.$': '$.run' },
      resultPath,
    });
    ask.addCatch(timedOut, { resultPath });
    // Not even the timeout could decide: the result path holds the error, which record-node takes as abort.
    timedOut.addCatch(record, { resultPath });
    ask.next(record);
    timedOut.next(record);
    this.startState = ask;
    this.endStates = [record];
  }
}
