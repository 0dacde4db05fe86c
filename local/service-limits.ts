import type { RunnerEvent } from './runner-types.js';
import { ExecutionCounter } from './execution-counter.js';
import { STEP_FUNCTIONS_PAYLOAD_BYTES } from '../core/input-schema.js';

/**
 * What Step Functions enforces on a running execution and aws-local-stepfunctions does not: every state's
 * input and output, and every task's result, at most 256 KiB as UTF-8 bytes of the JSON; a Map's gathered
 * result counted too; at most 25,000 events in the execution's history.
 * https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
 */
export const PAYLOAD_LIMIT_BYTES = STEP_FUNCTIONS_PAYLOAD_BYTES;
export const HISTORY_EVENT_LIMIT = 25_000;

/** How the execution ends when a limit is passed: the error and cause AWS writes in ExecutionFailed. */
export interface LimitViolation {
  error: 'States.DataLimitExceeded' | 'States.Runtime';
  cause: string;
}

/** Bytes the service counts: the UTF-8 encoding of the JSON text. */
export function jsonBytes(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/**
 * States.DataLimitExceeded as the engine sees it: neither Retry nor Catch takes it, not even States.ALL
 * ("a terminal error that can't be caught by the States.ALL error type",
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
 * aws-local-stepfunctions reads `isRetryable`/`isCatchable` off a thrown error.
 */
export class DataLimitExceededError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(stateName: string) {
    super(`The state/task '${stateName}' returned a result with a size exceeding the maximum number of bytes service limit.`);
    this.name = 'States.DataLimitExceeded';
  }
}

/** Throws DataLimitExceeded when a task's input (after Parameters) or result is past the limit. */
export function checkTaskPayload(stateName: string, value: unknown): void {
  if (jsonBytes(value) > PAYLOAD_LIMIT_BYTES) throw new DataLimitExceededError(stateName);
}

/**
 * Watches an execution's events and says when the service would have failed it. A Map's result is the
 * array of its iterations' outputs whatever its ResultPath: it is summed per Map as
 * the iterations end. Two activations of one Map running at once would be summed together (stricter than
 * AWS); the stack runs its inner Maps one group at a time.
 */
export class ExecutionLimits {
  private readonly counter: ExecutionCounter;
  private violation: LimitViolation | undefined;

  constructor(definition: Record<string, unknown>) {
    this.counter = new ExecutionCounter(definition);
  }

  /** The first limit passed, if any. */
  get failure(): LimitViolation | undefined {
    return this.violation;
  }

  /** Feeds one event; returns the violation it causes, once. */
  observe(event: RunnerEvent): LimitViolation | undefined {
    if (this.violation !== undefined) return undefined;
    // The counter sees the event first: a Map's gathered bytes include this iteration.
    this.counter.add(event);
    const found = this.payloadViolation(event) ?? this.historyViolation();
    if (found !== undefined) this.violation = found;
    return found;
  }

  private payloadViolation(event: RunnerEvent): LimitViolation | undefined {
    const name = event.stateName ?? '';
    const tooBig = (value: unknown) => jsonBytes(value) > PAYLOAD_LIMIT_BYTES;
    const dataLimit = (): LimitViolation => ({ error: 'States.DataLimitExceeded', cause: new DataLimitExceededError(name).message });
    switch (event.type) {
      case 'ExecutionStarted':
        return tooBig(event.input) ? dataLimit() : undefined;
      case 'StateEntered':
        return tooBig(event.input) ? dataLimit() : undefined;
      case 'StateExited':
        return tooBig(event.output) ? dataLimit() : undefined;
      case 'MapIterationSucceeded':
        return this.counter.gatheredBytes(name) > PAYLOAD_LIMIT_BYTES ? dataLimit() : undefined;
      default:
        return undefined;
    }
  }

  private historyViolation(): LimitViolation | undefined {
    // The failure is itself event 25,000: the execution fails once the events before it reach 24,999.
    if (this.counter.events < HISTORY_EVENT_LIMIT - 1) return undefined;
    return { error: 'States.Runtime', cause: `The execution reached the maximum number of history events (${HISTORY_EVENT_LIMIT}).` };
  }
}
