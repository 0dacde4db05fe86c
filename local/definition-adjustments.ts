import { allStates, statesOf } from './asl-states.js';

/**
 * AWS evaluates a Task's TimeoutSecondsPath against the state's input; aws-local-stepfunctions against
 * the effective input after Parameters. For a path the Parameters pass through (`"run.$": "$.run"` inside
 * a Lambda Payload), the path is translated so both read the same value. Nothing else changes.
 */
export function adaptTimeoutPaths(definition: Record<string, unknown>): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(definition)) as Record<string, unknown>;
  for (const { state } of allStates(statesOf(copy))) {
    const path = state.TimeoutSecondsPath;
    const params = state.Parameters as ({ Payload?: Record<string, unknown> } & Record<string, unknown>) | undefined;
    if (typeof path === 'string' && params) {
      for (const [container, fields] of [
        ['Payload', params.Payload],
        ['', params],
      ] as const) {
        if (fields === undefined || fields === null || typeof fields !== 'object') continue;
        const hit = Object.entries(fields).find(([k, v]) => k.endsWith('.$') && typeof v === 'string' && (path === v || path.startsWith(`${v}.`)));
        if (hit) {
          const [key, source] = hit as [string, string];
          state.TimeoutSecondsPath = `$${container ? `.${container}` : ''}.${key.slice(0, -2)}${path.slice(source.length)}`;
          break;
        }
      }
    }
  }
  return copy;
}

/**
 * For rehearsals that inject hangs and lost events: every runbook step task (a `.waitForTaskToken` task
 * whose payload names a `step`) times out just after a step capped at `capSeconds` counts as unresponsive,
 * as in AWS its timeout follows the step's own (STEP_TIMEOUT_SECONDS + 120 s); only the tasks of `steps`
 * when given. The handlers get the same cap through STEP_TIMEOUT_CAP_SECONDS (and _STEPS). Nothing else changes.
 */
export function capStepTimeouts(
  definition: Record<string, unknown>,
  capSeconds: number,
  timeoutAfterCap: (cap: number) => number,
  steps?: readonly string[],
): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(definition)) as Record<string, unknown>;
  for (const { state } of allStates(statesOf(copy))) {
    const payload = (state.Parameters as { Payload?: Record<string, unknown> } | undefined)?.Payload;
    if (
      state.Type === 'Task' &&
      (state.Resource ?? '').endsWith('.waitForTaskToken') &&
      typeof payload?.step === 'string' &&
      state.TimeoutSeconds !== undefined &&
      (steps === undefined || steps.includes(payload.step))
    ) {
      state.TimeoutSeconds = Math.min(state.TimeoutSeconds, timeoutAfterCap(capSeconds));
    }
  }
  return copy;
}

/**
 * FLEET_UPGRADE_RETRY_INTERVAL_MS (tests): every retrier of every state waits this many milliseconds
 * instead of its IntervalSeconds/BackoffRate/jitter, so fault tests do not sleep through AWS-sized
 * backoffs. The retries themselves (errors, attempts) are unchanged. Unset: the definition's own waits.
 */
export function retryIntervalOverrides(definition: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Record<string, number[]> | undefined {
  const ms = Number(env.FLEET_UPGRADE_RETRY_INTERVAL_MS ?? '');
  if (env.FLEET_UPGRADE_RETRY_INTERVAL_MS === undefined || env.FLEET_UPGRADE_RETRY_INTERVAL_MS === '' || !Number.isFinite(ms) || ms < 0) return undefined;
  const overrides: Record<string, number[]> = {};
  for (const { name, state } of allStates(statesOf(definition))) if (Array.isArray(state.Retry)) overrides[name] = state.Retry.map(() => ms);
  return overrides;
}
