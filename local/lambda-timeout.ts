import { randomUUID } from 'node:crypto';
import type { CfnTemplate } from './cfn-template.js';
import type { LocalHandler } from './runner-types.js';

/** A function's Timeout when the template sets none (CloudFormation's default). */
export const DEFAULT_LAMBDA_TIMEOUT_SECONDS = 3;

/**
 * A Lambda invocation past its function's Timeout: Lambda ends it and reports errorType "Sandbox.Timedout",
 * which is the error name Step Functions' Retry and Catch see.
 * https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html#troubleshooting-timeouts
 */
export class SandboxTimedoutError extends Error {
  constructor(seconds: number) {
    super(`RequestId: ${randomUUID()} Error: Task timed out after ${seconds.toFixed(2)} seconds`);
    this.name = 'Sandbox.Timedout';
  }
}

/** Function logical id → its Timeout in seconds, from the synthesized template. */
export function functionTimeouts(template: CfnTemplate): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const timeout = resource.Properties?.Timeout;
    out[id] = typeof timeout === 'number' ? timeout : DEFAULT_LAMBDA_TIMEOUT_SECONDS;
  }
  return out;
}

/**
 * The handler held to its function's Timeout: past it the invocation fails with Sandbox.Timedout. Lambda
 * stops the function there; in-process the handler cannot be stopped, so the rest of its work still
 * happens unseen (its outcome is dropped): a divergence the rehearsal cannot avoid.
 */
export function withLambdaTimeout(handler: LocalHandler, seconds: number): LocalHandler {
  return (event) => {
    // The handler sees its remaining time as in Lambda (clean-up-run stops in time to hand over to the next invocation).
    const deadline = Date.now() + seconds * 1000;
    const invocation = handler(event, { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SandboxTimedoutError(seconds)), seconds * 1000);
      // A pending timeout must not hold the process open after everything else ended.
      timer.unref();
    });
    invocation.catch(() => undefined);
    return Promise.race([invocation, timedOut]).finally(() => clearTimeout(timer));
  };
}
