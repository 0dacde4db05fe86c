import type { LocalTaskTokens } from './task-tokens.js';
import type { LocalHandler } from './runner-types.js';
import { distributedMaps, statesOf, taskStates } from './asl-states.js';
import { localArns } from './local-arns.js';
import { MapFence } from './map-fence.js';

const LAMBDA_ARN = /^arn:aws:lambda:[^:]+:[^:]+:function:([^:]+)$/;

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
