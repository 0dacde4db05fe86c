import { DEFAULT_LAMBDA_TIMEOUT_SECONDS, withLambdaTimeout } from './lambda-timeout.js';
import { LOCAL_HANDLERS } from './handlers.js';
import type { LocalHandler } from './state-machine-runner.js';
import type { LocalStackParts } from './template.js';

/** A handler that throws `times` times when its event matches (`step`/`nodeId` of run-step and record-node events). */
export interface LambdaFault {
  handler: string;
  times: number;
  step?: string;
  nodeId?: string;
}

/** Counts invocations per handler name. */
function counted(name: string, handler: LocalHandler, counts: Record<string, number>): LocalHandler {
  return (event) => {
    counts[name] = (counts[name] ?? 0) + 1;
    return handler(event);
  };
}

/** Wraps a handler so matching invocations throw like an unhandled error in Lambda (errorType "Error"). */
function withFaults(name: string, handler: LocalHandler, faults: LambdaFault[]): LocalHandler {
  const mine = faults.filter((f) => f.handler === name).map((f) => ({ ...f }));
  if (mine.length === 0) return handler;
  return async (event) => {
    const e = event as { step?: unknown; node?: { id?: unknown } } | null;
    const fault = mine.find((f) => f.times > 0 && (f.step === undefined || f.step === e?.step) && (f.nodeId === undefined || f.nodeId === e?.node?.id));
    if (fault !== undefined) {
      fault.times -= 1;
      throw new Error(`rehearsal: injected crash of the ${name} function`);
    }
    return handler(event);
  };
}

/**
 * The local stack's real handlers by function logical id, each run as its function (`asFunction`: its IAM role)
 * and held to its Timeout from the template, as Lambda holds it. `handlers` counts invocations into
 * `invocations` (the run's Lambda bill) and injects `faults`; `scheduled` is for schedule rules, whose
 * invocations come from the clock, not from the run, so they are neither counted nor faulted.
 */
export function stackHandlers(
  parts: Pick<LocalStackParts, 'handlers' | 'timeouts'>,
  asFunction: (name: string, handler: LocalHandler) => LocalHandler,
  faults: LambdaFault[],
  invocations: Record<string, number>,
): { handlers: Map<string, LocalHandler>; scheduled: Map<string, LocalHandler> } {
  const handlers = new Map<string, LocalHandler>();
  const scheduled = new Map<string, LocalHandler>();
  for (const [logicalId, name] of Object.entries(parts.handlers)) {
    const handler = LOCAL_HANDLERS[name];
    if (handler === undefined) throw new Error(`function ${logicalId} names handler ${name}, which the local runtime does not know`);
    const limited = withLambdaTimeout(handler, parts.timeouts[logicalId] ?? DEFAULT_LAMBDA_TIMEOUT_SECONDS);
    handlers.set(logicalId, counted(name, asFunction(name, withFaults(name, limited, faults)), invocations));
    scheduled.set(logicalId, asFunction(name, limited));
  }
  return { handlers, scheduled };
}
