import type { RunnerEvent } from './state-machine-runner.js';

interface AslState {
  Type: string;
  Resource?: string;
  ItemProcessor?: { States: Record<string, AslState> };
  Iterator?: { States: Record<string, AslState> };
}

/**
 * Counts what the same run would cost in AWS: state transitions (what Standard workflows bill) and
 * the history events it would write (what the 25,000-event limit counts), from the local event log.
 *
 * AWS history events per state, as the execution history shows them:
 *   Lambda task (function ARN)     Entered, LambdaFunctionScheduled, Started, Succeeded|Failed, Exited  = 5
 *   .waitForTaskToken task         Entered, TaskScheduled, Started, Submitted, Succeeded|Failed, Exited = 6
 *   Map                            Entered, MapStateStarted, MapStateSucceeded|Failed, Exited          = 4
 *                                  + MapIterationStarted and Succeeded|Failed per item                = 2
 *   Choice, Pass, Succeed          Entered, Exited = 2;  Fail: Entered = 1
 *   Execution                      ExecutionStarted, ExecutionSucceeded|Failed = 2
 */
export class ExecutionCounter {
  events = 0;
  stateTransitions = 0;
  private readonly states = new Map<string, AslState>();

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

  add(event: RunnerEvent): void {
    const state = event.stateName === undefined ? undefined : this.states.get(event.stateName);
    switch (event.type) {
      case 'ExecutionStarted':
        this.events += 1;
        break;
      case 'StateEntered': {
        this.stateTransitions += 1;
        this.events += 1;
        if (state?.Type === 'Task') this.events += state.Resource?.endsWith('.waitForTaskToken') ? 3 : 2;
        if (state?.Type === 'Map') this.events += 1;
        break;
      }
      case 'StateExited':
        this.events += state?.Type === 'Map' ? 2 : state?.Type === 'Task' ? 2 : 1;
        break;
      case 'StateFailed':
        // Failed instead of Succeeded, and no Exited event for the state.
        this.events += state?.Type === 'Task' || state?.Type === 'Map' ? 1 : 0;
        break;
      case 'StateRetried':
        this.stateTransitions += 1;
        this.events += state?.Resource?.endsWith('.waitForTaskToken') ? 5 : 4;
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        this.events += 1;
        break;
      default:
        break;
    }
  }

  /** The execution's closing event (the library's event log does not always deliver it before the result). */
  finish(_status: string): void {
    this.events += 1;
  }
}
