import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './local-arns.js';

/** What a status-change event carries of an execution's input and output, escaped (248 KiB). */
export const EVENT_DATA_LIMIT_BYTES = 248 * 1024;

/**
 * The EventBridge event "Step Functions Execution Status Change" of an execution that ended, as Step Functions
 * puts it on the default bus; the stack's stop rule decides which of them reach `run-stopped`.
 */
export function executionEndedEvent(e: {
  status: 'SUCCEEDED' | 'ABORTED' | 'FAILED' | 'TIMED_OUT';
  executionArn: string;
  stateMachineArn: string;
  name: string;
  startDate: number;
  stopDate: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
}) {
  // Step Functions leaves the input out when the escaped input and output together pass 248 KiB, and the
  // output when it alone does. https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html
  const escaped = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(JSON.stringify(text)));
  const outputIncluded = escaped(e.output) <= EVENT_DATA_LIMIT_BYTES;
  const inputIncluded = escaped(e.input) + (outputIncluded ? escaped(e.output) : 0) <= EVENT_DATA_LIMIT_BYTES;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: LOCAL_ACCOUNT,
    time: new Date(e.stopDate).toISOString(),
    region: LOCAL_REGION,
    resources: [e.executionArn],
    detail: {
      executionArn: e.executionArn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      stopDate: e.stopDate,
      input: inputIncluded ? e.input : null,
      inputDetails: { included: inputIncluded },
      output: outputIncluded ? (e.output ?? null) : null,
      outputDetails: { included: outputIncluded },
      error: e.error ?? null,
      cause: e.cause ?? null,
    },
  };
}
