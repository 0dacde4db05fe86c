import { randomUUID } from 'node:crypto';
import type { RunnerEvent } from './state-machine-runner.js';
import { atPath } from './asl-states.js';
import { MapRun, mapRunSettings, type MapRunHooks, type MapRunOwner } from './map-runs.js';

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
  ItemsPath?: string;
  ItemSelector?: Record<string, unknown>;
  Label?: string;
  ItemProcessor?: { States: Record<string, AslState>; ProcessorConfig?: { Mode?: string } };
  Iterator?: { States: Record<string, AslState> };
}

const isDistributed = (state: AslState | undefined) => state?.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED';

/** The items a Map state iterates over (its ItemsPath, a plain `$.a.b` path) in the given input. */
export function itemsOf(state: AslState | undefined, input: unknown): unknown[] {
  const value = atPath(input, state?.ItemsPath ?? '$');
  return Array.isArray(value) ? value : [];
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

  /** For a Distributed Map's events: starts its Map Run (answering its ARN) and ends it (set by the tree that owns this history). */
  mapRuns: MapRunHooks | undefined;
  /**
   * The task's own result (what AWS records in LambdaFunctionSucceeded / TaskSucceeded), by lane and state:
   * the state's output differs from it (ResultPath, and OutputPath on the states that end a Map child).
   */
  taskResult: ((lane: string, stateName: string) => unknown) | undefined;

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

  /** The execution's own TimeoutSeconds passed (cli/watch-view.ts reads executionTimedOutEventDetails). */
  timedOut(error: string, cause: string, at: number): void {
    this.push('', at, 'ExecutionTimedOut', { executionTimedOutEventDetails: { error, cause } });
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
            this.push(lane, at, 'LambdaFunctionScheduled', {
              lambdaFunctionScheduledEventDetails: { resource: state?.Resource, input: json(event.input), timeoutInSeconds: state?.TimeoutSeconds },
            });
            this.push(lane, at, 'LambdaFunctionStarted');
          } else {
            this.push(lane, at, 'TaskScheduled', {
              taskScheduledEventDetails: { ...task, region: 'us-east-1', parameters: json(event.input), timeoutInSeconds: state?.TimeoutSeconds },
            });
            this.push(lane, at, 'TaskStarted', { taskStartedEventDetails: task });
            if (waits) this.push(lane, at, 'TaskSubmitted', { taskSubmittedEventDetails: { ...task, output: '{}' } });
          }
        }
        if (type === 'Map') {
          this.push(lane, at, 'MapStateStarted', { mapStateStartedEventDetails: { length: itemsOf(state, event.input).length } });
          if (isDistributed(state) && this.mapRuns !== undefined)
            this.push(lane, at, 'MapRunStarted', { mapRunStartedEventDetails: { mapRunArn: this.mapRuns.started(name, event.input, at) } });
        }
        break;
      }
      case 'StateExited': {
        if (type === 'Task' && !this.failed.has(key)) {
          const result = this.taskResult?.(lane, name);
          const output = json(result === undefined ? event.output : result);
          if (direct) this.push(lane, at, 'LambdaFunctionSucceeded', { lambdaFunctionSucceededEventDetails: { output } });
          else this.push(lane, at, 'TaskSucceeded', { taskSucceededEventDetails: { ...task, output } });
        }
        if (type === 'Map' && !this.failed.has(key)) {
          if (isDistributed(state)) {
            this.mapRuns?.ended(name, 'SUCCEEDED', at);
            this.push(lane, at, 'MapRunSucceeded');
          }
          this.push(lane, at, 'MapStateSucceeded');
        }
        if (type !== 'Fail')
          this.push(lane, at, `${type}StateExited`, { stateExitedEventDetails: { name, output: json(event.output), outputDetails: { truncated: false } } });
        break;
      }
      case 'StateFailed': {
        if (this.failed.has(key)) break;
        this.failed.add(key);
        const error = event.error ?? 'States.TaskFailed';
        const cause = text(event.cause);
        if (type === 'Task' && direct) this.push(lane, at, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error, cause } });
        else if (type === 'Task') this.push(lane, at, 'TaskFailed', { taskFailedEventDetails: { ...task, error, cause } });
        else if (type === 'Map') {
          if (isDistributed(state)) {
            this.mapRuns?.ended(name, 'FAILED', at);
            this.push(lane, at, 'MapRunFailed', { mapRunFailedEventDetails: { error, cause } });
          }
          this.push(lane, at, 'MapStateFailed');
        }
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

/**
 * aws-local-stepfunctions forwards a Map iteration's events through an async loop of its own, so an
 * iteration's end can be reported before its last state events. AWS writes a child execution's end
 * last; so the end is written once no event of that child has arrived for this long (or at the end).
 */
const SETTLE_MS = 150;

/** One child execution of a Distributed Map's Map Run, with its own history (as AWS keeps it). */
export interface ChildExecution {
  executionArn: string;
  name: string;
  mapRunArn: string;
  input: unknown;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  startDate: number;
  stopDate?: number;
  history: HistoryRecorder;
}

/**
 * The histories AWS keeps for one execution whose Maps are Distributed: the parent's (MapRunStarted …
 * MapRunSucceeded, no per-item events) and one per child execution (ExecutionStarted with the item, the
 * item's states, ExecutionSucceeded|Failed). aws-local-stepfunctions runs every Map inline and reports
 * one event log; this routes each event to the history AWS would have written it in: by the Map that
 * encloses its state, and the item (node id for node Maps, iteration index otherwise).
 */
export class ExecutionHistories {
  readonly root: HistoryRecorder;
  /** Child executions by ARN. */
  readonly children = new Map<string, ChildExecution>();
  private readonly states = new Map<string, AslState>();
  /** State name → the Distributed Map it runs directly inside (innermost), if any. */
  private readonly enclosing = new Map<string, string>();
  /** Children whose iteration ended but whose last events may still be on their way. */
  private readonly pendingEnds = new Map<ChildExecution, { end: () => void; timer: NodeJS.Timeout }>();
  /** Map state name → its current Map Run. */
  private readonly runs = new Map<string, MapRun<ChildExecution>>();
  /** Every Map Run of this execution and of its children, in the order they started. */
  readonly mapRuns: MapRun<ChildExecution>[] = [];
  /** Task results by node and state, as the task overrides return them (the event log carries only state outputs). */
  private readonly results = new Map<string, unknown>();

  constructor(
    private readonly definition: Record<string, unknown>,
    /** `execution`: the root execution's name. */
    private readonly arnBase: { region: string; account: string; stateMachine: string; execution: string },
  ) {
    const walk = (states: Record<string, AslState>, map: string | undefined) => {
      for (const [name, state] of Object.entries(states)) {
        this.states.set(name, state);
        if (map !== undefined) this.enclosing.set(name, map);
        const inner = state.ItemProcessor ?? state.Iterator;
        if (inner) walk(inner.States, isDistributed(state) ? name : map);
      }
    };
    walk(definition.States as Record<string, AslState>, undefined);
    const { region, account, stateMachine, execution } = arnBase;
    this.root = this.recorder({
      executionArn: `arn:aws:states:${region}:${account}:execution:${stateMachine}:${execution}`,
      stateMachineArn: `arn:aws:states:${region}:${account}:stateMachine:${stateMachine}`,
    });
  }

  /** A history of the execution `owner` (the root or a child): the Map Runs it starts are its own. */
  private recorder(owner: MapRunOwner): HistoryRecorder {
    const r = new HistoryRecorder(this.definition);
    r.mapRuns = {
      started: (mapState, input, at) => this.startRun(mapState, owner, input, at),
      ended: (mapState, status, at) => this.runs.get(mapState)?.end(status, at),
    };
    r.taskResult = (lane, stateName) => this.results.get(`${lane}|${stateName}`);
    return r;
  }

  /** Records a task's result; `input` is the task's input (its Payload, or the payload itself), which names the node. */
  taskResult(stateName: string, input: unknown, result: unknown): void {
    const payload = (input as { Payload?: unknown } | null)?.Payload ?? input;
    const node = (payload as { node?: { id?: unknown } } | null)?.node?.id;
    // Lambda tasks (lambda:invoke) return { StatusCode, Payload }; AWS records the whole response, as here.
    this.results.set(`${typeof node === 'string' ? node : ''}|${stateName}`, result);
  }

  private label(mapState: string): string {
    return this.states.get(mapState)?.Label ?? mapState.replace(/[^A-Za-z0-9]/g, '');
  }

  private startRun(mapState: string, owner: MapRunOwner, input: unknown, at: number): string {
    const { region, account, stateMachine } = this.arnBase;
    const arn = `arn:aws:states:${region}:${account}:mapRun:${stateMachine}/${this.label(mapState)}:${randomUUID()}`;
    const state = this.states.get(mapState);
    const run = new MapRun<ChildExecution>(arn, owner, at, mapRunSettings(state, input, itemsOf(state, input).length));
    this.runs.set(mapState, run);
    this.mapRuns.push(run);
    return arn;
  }

  private isNodeMap(mapState: string): boolean {
    const selector = this.states.get(mapState)?.ItemSelector ?? {};
    return 'node' in selector || 'node.$' in selector;
  }

  private keyOfItem(mapState: string, item: unknown, index: number): string {
    if (!this.isNodeMap(mapState)) return String(index);
    if (typeof item === 'string') return item;
    const id = (item as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id : String(index);
  }

  private child(mapState: string, key: string, input: unknown, at: number): ChildExecution | undefined {
    const run = this.runs.get(mapState);
    if (run === undefined) return undefined;
    let child = run.children.get(key);
    if (child === undefined) {
      const { region, account, stateMachine } = this.arnBase;
      const name = randomUUID();
      const executionArn = `arn:aws:states:${region}:${account}:execution:${stateMachine}/${this.label(mapState)}:${name}`;
      child = {
        executionArn,
        name,
        mapRunArn: run.arn,
        input,
        status: 'RUNNING',
        startDate: at,
        history: this.recorder({ executionArn, stateMachineArn: `arn:aws:states:${region}:${account}:stateMachine:${stateMachine}/${this.label(mapState)}` }),
      };
      child.history.started(input, at, '');
      run.children.set(key, child);
      this.children.set(child.executionArn, child);
    }
    return child;
  }

  /** The history an event belongs in (the root's when it runs outside every Distributed Map). */
  private target(event: RunnerEvent): HistoryRecorder {
    const map = event.stateName === undefined ? undefined : this.enclosing.get(event.stateName);
    if (map === undefined) return this.root;
    const node = (event.input as { node?: { id?: unknown } } | undefined)?.node?.id;
    const key = this.isNodeMap(map) && typeof node === 'string' ? node : String(event.index ?? 0);
    return this.child(map, key, event.input, event.timestamp)?.history ?? this.root;
  }

  add(event: RunnerEvent): void {
    const state = event.stateName === undefined ? undefined : this.states.get(event.stateName);
    if (event.type.startsWith('MapIteration') && isDistributed(state) && event.stateName !== undefined) {
      // Per-item events of a Distributed Map are the child executions' own start and end.
      const items = itemsOf(state, event.input);
      const index = event.index ?? 0;
      const key = this.keyOfItem(event.stateName, items[index], index);
      const child = this.child(event.stateName, key, items[index], event.timestamp);
      if (child === undefined || event.type === 'MapIterationStarted') return;
      const end = () => {
        this.pendingEnds.delete(child);
        child.stopDate = event.timestamp;
        if (event.type === 'MapIterationSucceeded') {
          child.status = 'SUCCEEDED';
          child.history.succeeded(null, event.timestamp);
        } else {
          child.status = 'FAILED';
          child.history.failedExecution(event.error ?? 'States.TaskFailed', text(event.cause), event.timestamp);
        }
      };
      this.pendingEnds.set(child, { end, timer: setTimeout(end, SETTLE_MS) });
      return;
    }
    const target = this.target(event);
    // An event of a child whose end is pending: its end waits for it (see SETTLE_MS).
    for (const [child, pending] of this.pendingEnds) {
      if (child.history !== target) continue;
      clearTimeout(pending.timer);
      pending.timer = setTimeout(pending.end, SETTLE_MS);
    }
    target.add(event);
  }

  /**
   * Ends every child whose end is still pending (the parent execution has ended: nothing more will come); a Map Run
   * still running then (the execution failed around it) ends aborted with it.
   */
  flush(at: number = Date.now()): void {
    for (const { end, timer } of [...this.pendingEnds.values()]) {
      clearTimeout(timer);
      end();
    }
    for (const run of this.mapRuns) run.end('ABORTED', at);
  }

  /** StopExecution: the children still running are aborted with their parent. */
  abortChildren(at: number): void {
    for (const { timer } of this.pendingEnds.values()) clearTimeout(timer);
    this.pendingEnds.clear();
    for (const child of this.children.values()) {
      if (child.status !== 'RUNNING') continue;
      child.status = 'ABORTED';
      child.stopDate = at;
      child.history.aborted('', 'the parent execution was stopped', at);
    }
    for (const run of this.mapRuns) run.end('ABORTED', at);
  }
}
