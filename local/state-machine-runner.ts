import { randomUUID } from 'node:crypto';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { LocalTaskTokens } from './task-tokens.js';
import { ExecutionLimits, checkTaskPayload, type LimitViolation } from './service-limits.js';
import { allStates, distributedMaps, statesOf, taskStates } from './asl-states.js';
import { adaptTimeoutPaths, retryIntervalOverrides } from './definition-adjustments.js';

/** The part of Lambda's context our handlers read. */
export interface LocalLambdaContext {
  getRemainingTimeInMillis(): number;
}

/** A handler as Lambda calls it: event in, result out (a thrown error's `name` is what Catch matches). */
export type LocalHandler = (event: unknown, context?: LocalLambdaContext) => Promise<unknown>;

/** What the runner reports while it runs (a subset of aws-local-stepfunctions' event log). */
export interface RunnerEvent {
  type: string;
  timestamp: number;
  stateName?: string;
  stateType?: string;
  input?: unknown;
  output?: unknown;
  error?: string;
  cause?: unknown;
  /** Map iteration index (MapIteration* events). */
  index?: number;
}

/** Account and region of everything local (the synthesized template's pseudo parameters too). */
export const LOCAL_ACCOUNT = '123456789012';
export const LOCAL_REGION = 'us-east-1';

/** The ARNs of a local state machine and of its executions. */
/** The state machine's name locally (rehearsal and local serve): policies name its ARN, tokens are issued under it. */
export const LOCAL_STATE_MACHINE_NAME = 'FleetUpgrade';
/** The cleanup state machine's name locally (run-stopped starts its executions). */
export const LOCAL_CLEANUP_STATE_MACHINE_NAME = 'FleetUpgradeCleanup';

export function localArns(stateMachineName = LOCAL_STATE_MACHINE_NAME): { stateMachine: string; execution: (name: string) => string } {
  const base = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}`;
  return { stateMachine: `${base}:stateMachine:${stateMachineName}`, execution: (name) => `${base}:execution:${stateMachineName}:${name}` };
}

const LAMBDA_ARN = /^arn:aws:lambda:[^:]+:[^:]+:function:([^:]+)$/;

/**
 * Step Functions starts no new iteration of a Map state once the Map has failed; aws-local-stepfunctions
 * still starts the iterations it had queued. This fence closes a Map when it fails (reopened when the
 * Map is entered again), refuses tasks inside a closed Map, and tells which events such phantom
 * iterations produce, so a failure stops the rollout locally exactly as it does in AWS and neither
 * progress nor counts show what AWS would never run.
 */
export class MapFence {
  private readonly closed = new Set<string>();
  /** State name → the Map states it runs inside, outermost first. */
  private readonly enclosing = new Map<string, string[]>();

  constructor(definition: Record<string, unknown>) {
    for (const { name, maps } of allStates(statesOf(definition))) this.enclosing.set(name, maps);
  }

  /** True for events of iterations AWS would not have run (inside a Map that already failed). */
  suppresses(event: RunnerEvent): boolean {
    if (event.stateName === undefined) return false;
    const maps = this.enclosing.get(event.stateName) ?? [];
    if (maps.some((m) => this.closed.has(m))) return true;
    return event.type === 'MapIterationStarted' && this.closed.has(event.stateName);
  }

  observe(event: RunnerEvent): void {
    if (event.stateType !== 'Map' || event.stateName === undefined) return;
    if (event.type === 'StateEntered') this.closed.delete(event.stateName);
    if (event.type === 'StateFailed' || event.type === 'MapIterationFailed') this.closed.add(event.stateName);
  }

  async check(stateName: string): Promise<void> {
    const maps = this.enclosing.get(stateName) ?? [];
    if (maps.length === 0) return;
    // Let the event log deliver what already happened before deciding.
    await new Promise((resolve) => setImmediate(resolve));
    const closed = maps.find((m) => this.closed.has(m));
    if (closed !== undefined) throw new Error(`"${stateName}" not started: the Map state "${closed}" already failed`);
  }
}

/** Lambda serializes events and results as JSON; so do we, so handlers see exactly what they would in AWS. */
function viaJson<T>(value: T): T {
  return value === undefined ? (null as T) : (JSON.parse(JSON.stringify(value)) as T);
}

function findToken(value: unknown, tokens: LocalTaskTokens): string | undefined {
  if (typeof value === 'string') return tokens.has(value) ? value : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const v of Object.values(value)) {
    const found = findToken(v, tokens);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Builds one local override per Task state from its Resource: a function ARN calls the handler; the
 * `lambda:invoke` integrations call it with the Payload; `.waitForTaskToken` calls it and then waits
 * for the token to be answered through the local SFN endpoint.
 */
export function taskOverrides(
  definition: Record<string, unknown>,
  functionHandlers: ReadonlyMap<string, LocalHandler>,
  tokens: LocalTaskTokens,
  fence: MapFence = new MapFence(definition),
  opts: {
    /** The state machine's ARN: tokens of tasks inside a Distributed Map are issued under `<arn>/<label>`. */
    stateMachineArn?: string;
    /** Called before the state machine invokes a function (its role must allow lambda:InvokeFunction); throws to deny. */
    authorizeInvoke?: (functionArn: string) => void;
  } = {},
): Record<string, (input: unknown) => Promise<unknown>> {
  const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
  const machineArn = opts.stateMachineArn ?? localArns().stateMachine;
  const labels = distributedMaps(definition);
  for (const [name, { state, maps }] of taskStates(statesOf(definition))) {
    const resource = state.Resource ?? '';
    const direct = LAMBDA_ARN.exec(resource);
    const functionArn = direct ? resource : String(state.Parameters?.FunctionName ?? '');
    const logicalId = LAMBDA_ARN.exec(functionArn)?.[1];
    const handler = logicalId === undefined ? undefined : functionHandlers.get(logicalId);
    if (handler === undefined) throw new Error(`state "${name}" calls ${resource} ${functionArn}, which has no local handler`);
    const innermost = [...maps].reverse().find((m) => labels.has(m));
    const issuer = innermost === undefined ? machineArn : `${machineArn}/${labels.get(innermost) as string}`;
    const invoke: LocalHandler = async (event) => {
      opts.authorizeInvoke?.(functionArn);
      return handler(event);
    };
    if (direct) {
      overrides[name] = async (input) => viaJson(await invoke(viaJson(input)));
    } else if (resource.endsWith(':lambda:invoke')) {
      overrides[name] = async (input) => ({ StatusCode: 200, Payload: viaJson(await invoke(viaJson((input as { Payload?: unknown }).Payload))) });
    } else if (resource.endsWith(':lambda:invoke.waitForTaskToken')) {
      overrides[name] = async (input) => {
        const payload = (input as { Payload?: unknown }).Payload;
        const token = findToken(payload, tokens);
        if (token === undefined) throw new Error(`state "${name}" passed no task token to its function`);
        tokens.issuedBy(token, issuer);
        const answer = tokens.wait(token);
        // When the task times out its token dies with it, as in AWS: a late answer finds no task.
        const timeout = (state as { TimeoutSeconds?: number }).TimeoutSeconds;
        const expiry = timeout === undefined ? undefined : setTimeout(() => tokens.expire(token), timeout * 1000);
        // A stopped execution lets this task go without an answer: its timer must not hold the process.
        expiry?.unref();
        try {
          await invoke(viaJson(payload));
          return viaJson(await answer);
        } finally {
          clearTimeout(expiry);
        }
      };
    } else {
      throw new Error(`state "${name}" uses ${resource}, which the local runner does not support`);
    }
    if (maps.length > 0) {
      const run = overrides[name] as (input: unknown) => Promise<unknown>;
      overrides[name] = async (input) => {
        await fence.check(name);
        return run(input);
      };
    }
  }
  return overrides;
}

/**
 * StopExecution, locally. Step Functions starts no state after it; aws-local-stepfunctions' abort() settles
 * the result but lets running Map iterations go on to their next tasks, and leaves tasks that wait (for a
 * task token: an approval, a step) waiting, with their timeout timers alive.
 */
export class StopSwitch {
  private stopped = false;
  private readonly waiting = new Set<(error: Error) => void>();

  get aborted(): boolean {
    return this.stopped;
  }

  /** Stops: no task starts any more, `abort` ends the execution, then the tasks still running are let go. */
  stop(abort: () => void): void {
    this.stopped = true;
    // The execution is aborted before the tasks fail, so that no failure of theirs is caught and handled.
    abort();
    for (const reject of this.waiting) reject(new Error('the execution was stopped'));
    this.waiting.clear();
  }

  /**
   * Every task checks the switch before it starts, and a task still running when the execution stops
   * is let go at once (its work on the node goes on, as in AWS). `onStart` sees each task as it starts.
   */
  tasks(
    overrides: Record<string, (input: unknown) => Promise<unknown>>,
    onStart?: (stateName: string, input: unknown) => void,
    onResult?: (stateName: string, input: unknown, result: unknown) => void,
  ): Record<string, (input: unknown) => Promise<unknown>> {
    return Object.fromEntries(
      Object.entries(overrides).map(([stateName, run]) => [
        stateName,
        async (taskInput: unknown) => {
          if (this.stopped) throw new Error(`"${stateName}" not started: the execution was stopped`);
          onStart?.(stateName, taskInput);
          let reject: (error: Error) => void = () => undefined;
          const stopped = new Promise<never>((_, r) => {
            reject = r;
          });
          this.waiting.add(reject);
          try {
            const result = await Promise.race([run(taskInput), stopped]);
            onResult?.(stateName, taskInput, result);
            return result;
          } finally {
            this.waiting.delete(reject);
          }
        },
      ]),
    );
  }
}

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

export interface LocalExecution {
  result: Promise<ExecutionOutcome>;
  events: AsyncGenerator<RunnerEvent>;
  abort(): void;
}

/**
 * How an execution ended. TIMED_OUT: the definition's own TimeoutSeconds passed (error States.Timeout).
 * FAILED also covers what the service enforces and the emulator does not (local/service-limits.ts).
 */
export type ExecutionOutcome =
  { status: 'SUCCEEDED'; output: unknown } | { status: 'FAILED'; error: string; cause: string } | { status: 'TIMED_OUT'; error: string; cause: string };

/**
 * Starts an execution of the definition with the given overrides and context, holding it to the limits the
 * service enforces (local/service-limits.ts) and to its own TimeoutSeconds. Events are read off the
 * emulator as they come, whoever consumes them: a limit is judged before the next task starts. The fence,
 * when given, drops the events of iterations AWS would not have run (and is kept up to date here).
 */
export function startExecution(opts: {
  definition: Record<string, unknown>;
  overrides: Record<string, (input: unknown) => Promise<unknown>>;
  input: unknown;
  executionName: string;
  tokens: LocalTaskTokens;
  stateMachineName?: string;
  fence?: MapFence;
  /** Wait state name → milliseconds it waits instead (tests). */
  waitOverrides?: Record<string, number>;
}): LocalExecution {
  const machine = new StateMachine(adaptTimeoutPaths(opts.definition) as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: false, checkPaths: true },
  });
  const startTime = new Date().toISOString();
  const arns = localArns(opts.stateMachineName);
  const tokens = opts.tokens;
  const limits = new ExecutionLimits(opts.definition);
  let failLimit: (v: LimitViolation) => void = () => undefined;
  const limitFailure = new Promise<LimitViolation>((resolve) => {
    failLimit = resolve;
  });
  // Each task waits a turn of the event loop, so the events before it are judged first, then checks its
  // effective input (after Parameters) and its result as the service does.
  const overrides = Object.fromEntries(
    Object.entries(opts.overrides).map(([stateName, run]) => [
      stateName,
      async (taskInput: unknown) => {
        await new Promise((resolve) => setImmediate(resolve));
        const failed = limits.failure;
        if (failed !== undefined) throw new Error(`"${stateName}" not started: the execution failed with ${failed.error}`);
        checkTaskPayload(stateName, taskInput);
        const result = await run(taskInput);
        checkTaskPayload(stateName, result);
        return result;
      },
    ]),
  );
  const execution = machine.run(opts.input as never, {
    // Overrides are typed over the library's JSON type; ours take and return plain JSON values.
    overrides: {
      taskResourceLocalHandlers: overrides as never,
      retryIntervalOverrides: retryIntervalOverrides(opts.definition),
      ...(opts.waitOverrides ? { waitTimeOverrides: opts.waitOverrides } : {}),
    },
    context: {
      Execution: {
        Id: arns.execution(opts.executionName),
        Name: opts.executionName,
        StartTime: startTime,
        Input: opts.input as never,
      },
      StateMachine: { Id: arns.stateMachine, Name: opts.stateMachineName ?? 'FleetUpgrade' },
      // The local engine fills no State: read while a state builds its payload, just after entering it.
      State: {
        get EnteredTime() {
          return new Date().toISOString();
        },
      },
      // A new token every time a state reads $$.Task.Token, registered before the task starts.
      Task: {
        get Token() {
          return tokens.mint();
        },
      },
    },
  });
  const emulated = execution.result.then(
    (output): ExecutionOutcome => ({ status: 'SUCCEEDED', output: output as unknown }),
    (error: unknown): ExecutionOutcome => {
      // The abort under a passed limit is not the execution's own failure.
      const passed = limits.failure;
      if (passed !== undefined) return { status: 'FAILED', ...passed };
      const e = error as { name?: string; message?: string; cause?: { name?: string; message?: string } };
      if (e.name === 'ExecutionTimeoutError')
        return { status: 'TIMED_OUT', error: 'States.Timeout', cause: "The execution timed out (the state machine's TimeoutSeconds)." };
      return { status: 'FAILED', error: e.cause?.name ?? e.name ?? 'Error', cause: e.cause?.message ?? e.message ?? String(error) };
    },
  );
  // A passed limit ends the execution at once, no Catch taken: the emulator's run is aborted under it.
  const result = Promise.race([emulated, limitFailure.then((v): ExecutionOutcome => ({ status: 'FAILED', ...v }))]);

  const queue: RunnerEvent[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  void (async () => {
    for await (const e of execution.eventLogs) {
      const event: RunnerEvent = { type: e.type, timestamp: e.timestamp };
      if (e.type === 'ExecutionStarted' && 'input' in e) event.input = e.input;
      if ('state' in e) Object.assign(event, { stateName: e.state.name, stateType: e.state.type, input: e.state.input, output: e.state.output });
      if ('Error' in e) Object.assign(event, { error: e.Error, cause: e.Cause });
      if ('parentState' in e)
        Object.assign(event, { stateName: e.parentState.name, stateType: 'Map', input: e.parentState.input, ...('output' in e ? { output: e.output } : {}) });
      if ('index' in e && typeof e.index === 'number') event.index = e.index;
      if (opts.fence?.suppresses(event)) continue;
      opts.fence?.observe(event);
      const violation = limits.observe(event);
      if (violation !== undefined) {
        failLimit(violation);
        execution.abort();
      }
      queue.push(event);
      wake?.();
    }
    closed = true;
    wake?.();
  })();
  async function* events(): AsyncGenerator<RunnerEvent> {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (closed) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  }
  return { result, events: events(), abort: execution.abort };
}
