import type { RunnerEvent } from './runner-types.js';

interface AslState {
  Type: string;
  Resource?: string;
  ItemProcessor?: { ProcessorConfig?: { Mode?: string }; States: Record<string, AslState> };
  Iterator?: { States: Record<string, AslState> };
}

/**
 * Counts what the same run would cost in AWS: state transitions (what Standard workflows bill, child
 * executions included) and the history events it would write — in the parent execution (what the
 * 25,000-event limit counts) and in the child executions of Distributed Maps — from the local event log.
 *
 * AWS history events per state, as the execution history shows them:
 *   Lambda task (function ARN)     Entered, LambdaFunctionScheduled, Started, Succeeded|Failed, Exited  = 5
 *   .waitForTaskToken task         Entered, TaskScheduled, Started, Submitted, Succeeded|Failed, Exited = 6
 *   Inline Map                     Entered, MapStateStarted, MapStateSucceeded|Failed, Exited          = 4
 *                                  + MapIterationStarted and Succeeded|Failed per item                = 2
 *   Distributed Map                Entered, MapStateStarted, MapRunStarted, MapRunSucceeded|Failed,
 *                                  MapStateSucceeded|Failed, Exited                                     = 6
 *                                  (each item is a child execution: ExecutionStarted, …, ExecutionSucceeded|Failed)
 *   Choice, Pass, Succeed          Entered, Exited = 2;  Fail: Entered = 1
 *   Execution                      ExecutionStarted, ExecutionSucceeded|Failed = 2
 */
export class ExecutionCounter {
  /** History events of the parent execution. */
  events = 0;
  /** History events of all child executions together. */
  childEvents = 0;
  childExecutions = 0;
  stateTransitions = 0;
  /** The largest state input or output seen, in bytes of JSON (Step Functions allows 256 KiB). */
  maxPayloadBytes = 0;
  /** The largest result a Map gathered (the array of its iterations' outputs, whatever its ResultPath). */
  maxMapResultBytes = 0;
  /** Map state name → bytes of its gathered result so far (`[`, `]` and commas included). */
  private readonly gathered = new Map<string, number>();
  private readonly states = new Map<string, AslState>();
  /** States that run inside a Distributed Map's child workflow. */
  private readonly inChild = new Set<string>();

  constructor(definition: Record<string, unknown>) {
    const walk = (states: Record<string, AslState>, child: boolean) => {
      for (const [name, state] of Object.entries(states)) {
        this.states.set(name, state);
        if (child) this.inChild.add(name);
        const inner = state.ItemProcessor ?? state.Iterator;
        if (inner) walk(inner.States, child || isDistributed(state));
      }
    };
    walk(definition.States as Record<string, AslState>, false);
  }

  add(event: RunnerEvent): void {
    if (event.type === 'StateEntered' || event.type === 'StateExited') {
      this.maxPayloadBytes = Math.max(this.maxPayloadBytes, jsonBytes(event.type === 'StateEntered' ? event.input : event.output));
    }
    this.gather(event);
    const state = event.stateName === undefined ? undefined : this.states.get(event.stateName);
    const child = event.stateName !== undefined && this.inChild.has(event.stateName);
    const count = (n: number) => {
      if (child) this.childEvents += n;
      else this.events += n;
    };
    switch (event.type) {
      case 'ExecutionStarted':
        this.events += 1;
        break;
      case 'StateEntered': {
        this.stateTransitions += 1;
        count(1);
        if (state?.Type === 'Task') count(state.Resource?.endsWith('.waitForTaskToken') ? 3 : 2);
        if (state?.Type === 'Map') count(isDistributed(state) ? 2 : 1);
        break;
      }
      case 'StateExited':
        count(state?.Type === 'Map' ? (isDistributed(state) ? 3 : 2) : state?.Type === 'Task' ? 2 : 1);
        break;
      case 'StateFailed':
        // Failed instead of Succeeded, and no Exited event for the state.
        count(state?.Type === 'Map' ? (isDistributed(state) ? 2 : 1) : state?.Type === 'Task' ? 1 : 0);
        break;
      case 'StateRetried':
        this.stateTransitions += 1;
        count(state?.Resource?.endsWith('.waitForTaskToken') ? 5 : 4);
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        if (state !== undefined && isDistributed(state)) {
          // A child execution starts or ends; its events are its own, not the parent's.
          this.childEvents += 1;
          if (event.type === 'MapIterationStarted') this.childExecutions += 1;
        } else {
          count(1);
        }
        break;
      default:
        break;
    }
  }

  /** Bytes the named Map has gathered in its current activation. */
  gatheredBytes(mapName: string): number {
    return this.gathered.get(mapName) ?? 2;
  }

  private gather(event: RunnerEvent): void {
    const name = event.stateName ?? '';
    if (event.type === 'StateEntered' && event.stateType === 'Map') this.gathered.set(name, 2);
    if (event.type !== 'MapIterationSucceeded') return;
    const sofar = this.gatheredBytes(name);
    const next = sofar + jsonBytes(event.output ?? null) + (sofar > 2 ? 1 : 0);
    this.gathered.set(name, next);
    this.maxMapResultBytes = Math.max(this.maxMapResultBytes, next);
  }

  /** The execution's closing event (the library's event log does not always deliver it before the result). */
  finish(_status: string): void {
    this.events += 1;
  }
}

function isDistributed(state: AslState): boolean {
  return state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED';
}

function jsonBytes(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value));
}
