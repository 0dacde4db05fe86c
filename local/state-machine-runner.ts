import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { LocalTaskTokens } from './task-tokens.js';
import { ExecutionLimits, checkTaskPayload, type LimitViolation } from './service-limits.js';
import { adaptTimeoutPaths, retryIntervalOverrides } from './definition-adjustments.js';
import { localArns } from './local-arns.js';
import type { MapFence } from './map-fence.js';
import type { ExecutionOutcome, LocalExecution, RunnerEvent } from './runner-types.js';

// The runner's pieces live in modules of their own; the rehearsal and the local stack import them from here.
export { LOCAL_ACCOUNT, LOCAL_CLEANUP_STATE_MACHINE_NAME, LOCAL_REGION, LOCAL_STATE_MACHINE_NAME, localArns } from './local-arns.js';
export type { ExecutionOutcome, LocalExecution, LocalHandler, LocalLambdaContext, RunnerEvent } from './runner-types.js';
export { MapFence } from './map-fence.js';
export { taskOverrides } from './task-overrides.js';
export { StopSwitch } from './stop-switch.js';
export { EVENT_DATA_LIMIT_BYTES, executionEndedEvent } from './execution-ended-event.js';

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
