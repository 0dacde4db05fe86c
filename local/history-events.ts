import type { RunnerEvent } from './state-machine-runner.js';

/** One event of `GetExecutionHistory`, as the Step Functions JSON protocol answers it (timestamp in epoch seconds). */
export interface HistoryEventJson {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  TimeoutSeconds?: number;
  ItemProcessor?: { States: Record<string, AslState> };
  Iterator?: { States: Record<string, AslState> };
}

/** The node an event belongs to (a pipeline step's node), so concurrent iterations chain their own events. */
function laneOf(event: RunnerEvent): string {
  const value = event.input as { node?: { id?: unknown } } | undefined;
  const node = typeof value?.node?.id === 'string' ? value.node.id : '';
  return event.type.startsWith('MapIteration') ? `${event.stateName ?? ''}#${event.index ?? 0}` : node;
}

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? '');
}

/**
 * Turns aws-local-stepfunctions' event log into the execution history AWS would write for the same run
 * (`TaskStateEntered`, `LambdaFunctionScheduled`, `TaskSubmitted`, `MapIterationStarted`, …), so the CLI
 * reads a local execution with exactly the code that reads one in AWS. The per-state event counts are
 * the ones ExecutionCounter documents.
 */
export class HistoryRecorder {
  readonly events: HistoryEventJson[] = [];
  private readonly states = new Map<string, AslState>();
  private readonly last = new Map<string, number>();
  /** States whose task failed: the library still reports them exited after a Catch, which AWS shows as failed, then exited. */
  private readonly failed = new Set<string>();

  constructor(definition: Record<string, unknown>) {
    const walk = (states: Record<string, AslState>) => {
      for (const [name, state] of Object.entries(states)) {
        this.states.set(name, state);
        const inner = state.ItemProcessor ?? state.Iterator;
        if (inner) walk(inner.States);
      }
    };
    walk(definition.States as Record<string, AslState>);
  }

  private push(lane: string, at: number, type: string, details: Record<string, unknown> = {}): void {
    const id = this.events.length + 1;
    const previousEventId = this.last.get(lane) ?? this.events.length;
    this.events.push({ id, previousEventId, timestamp: at / 1000, type, ...details });
    this.last.set(lane, id);
  }

  started(input: unknown, at: number, roleArn: string): void {
    this.push('', at, 'ExecutionStarted', { executionStartedEventDetails: { input: json(input), inputDetails: { truncated: false }, roleArn } });
  }

  succeeded(output: unknown, at: number): void {
    this.push('', at, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: json(output), outputDetails: { truncated: false } } });
  }

  failedExecution(error: string, cause: string, at: number): void {
    this.push('', at, 'ExecutionFailed', { executionFailedEventDetails: { error, cause } });
  }

  aborted(error: string, cause: string, at: number): void {
    this.push('', at, 'ExecutionAborted', { executionAbortedEventDetails: { error, cause } });
  }

  add(event: RunnerEvent): void {
    const name = event.stateName ?? '';
    const state = this.states.get(name);
    const lane = laneOf(event);
    const at = event.timestamp;
    const key = `${lane}|${name}`;
    const type = state?.Type ?? event.stateType ?? 'Task';
    const waits = state?.Resource?.endsWith('.waitForTaskToken') === true;
    const direct = state?.Resource?.startsWith('arn:aws:lambda:') === true;
    const task = { resourceType: 'lambda', resource: waits ? 'invoke.waitForTaskToken' : 'invoke' };
    switch (event.type) {
      case 'StateEntered': {
        this.failed.delete(key);
        this.push(lane, at, `${type}StateEntered`, { stateEnteredEventDetails: { name, input: json(event.input), inputDetails: { truncated: false } } });
        if (type === 'Task') {
          if (direct) {
            this.push(lane, at, 'LambdaFunctionScheduled', { lambdaFunctionScheduledEventDetails: { resource: state?.Resource, input: json(event.input), timeoutInSeconds: state?.TimeoutSeconds } });
            this.push(lane, at, 'LambdaFunctionStarted');
          } else {
            this.push(lane, at, 'TaskScheduled', { taskScheduledEventDetails: { ...task, region: 'us-east-1', parameters: json(event.input), timeoutInSeconds: state?.TimeoutSeconds } });
            this.push(lane, at, 'TaskStarted', { taskStartedEventDetails: task });
            if (waits) this.push(lane, at, 'TaskSubmitted', { taskSubmittedEventDetails: { ...task, output: '{}' } });
          }
        }
        if (type === 'Map') {
          const items = (event.input as { group?: { nodes?: unknown[] }; plan?: { groups?: unknown[] } } | undefined);
          this.push(lane, at, 'MapStateStarted', { mapStateStartedEventDetails: { length: items?.group?.nodes?.length ?? items?.plan?.groups?.length ?? 0 } });
        }
        break;
      }
      case 'StateExited': {
        if (type === 'Task' && !this.failed.has(key)) {
          if (direct) this.push(lane, at, 'LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output: json(event.output) } });
          else this.push(lane, at, 'TaskSucceeded', { taskSucceededEventDetails: { ...task, output: json(event.output) } });
        }
        if (type === 'Map' && !this.failed.has(key)) this.push(lane, at, 'MapStateSucceeded');
        if (type !== 'Fail') this.push(lane, at, `${type}StateExited`, { stateExitedEventDetails: { name, output: json(event.output), outputDetails: { truncated: false } } });
        break;
      }
      case 'StateFailed': {
        if (this.failed.has(key)) break;
        this.failed.add(key);
        const error = event.error ?? 'States.TaskFailed';
        const cause = text(event.cause);
        if (type === 'Task' && direct) this.push(lane, at, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error, cause } });
        else if (type === 'Task') this.push(lane, at, 'TaskFailed', { taskFailedEventDetails: { ...task, error, cause } });
        else if (type === 'Map') this.push(lane, at, 'MapStateFailed');
        break;
      }
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const details = { name, index: event.index ?? 0 };
        const field = `${event.type.charAt(0).toLowerCase()}${event.type.slice(1)}EventDetails`;
        this.push(lane, at, event.type, { [field]: details });
        break;
      }
      default:
        break;
    }
  }
}
