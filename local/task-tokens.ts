import { randomBytes } from 'node:crypto';
import { AwsJsonError, startJsonProtocolServer, type JsonOperation, type JsonProtocolServer } from './json-protocol.js';

/** Failure answered through SendTaskFailure: `name` is what Catch/Retry match, like in Step Functions. */
export class TaskFailedError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

interface Waiting {
  promise: Promise<unknown>;
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
  answered: boolean;
}

/**
 * Task tokens for `.waitForTaskToken` states, answered over loopback by the real SFN client
 * (SendTaskSuccess / SendTaskFailure, JSON 1.0 protocol). A token works once.
 */
export class LocalTaskTokens {
  private readonly waiting = new Map<string, Waiting>();
  private readonly issuers = new Map<string, string>();
  private server: JsonProtocolServer | undefined;

  /** A new token, already waiting for its answer (so an answer that comes early is not lost). */
  mint(): string {
    const token = randomBytes(24).toString('base64url');
    let resolve!: (output: unknown) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A token nobody waits on must not crash the process when it fails.
    promise.catch(() => undefined);
    this.waiting.set(token, { promise, resolve, reject, answered: false });
    return token;
  }

  /** The state machine ARN a token was issued under (the execution's, or `<machine>/<label>` in a Map child). */
  issuedBy(token: string, stateMachineArn: string): void {
    this.issuers.set(token, stateMachineArn);
  }

  issuerOf(token: string): string | undefined {
    return this.issuers.get(token);
  }

  has(token: string): boolean {
    return this.waiting.has(token);
  }

  /** The task timed out: its token no longer answers (a late SendTask* gets TaskDoesNotExist, as in AWS). */
  expire(token: string): void {
    const w = this.waiting.get(token);
    if (w === undefined || w.answered) return;
    w.answered = true;
    w.reject(new TaskFailedError('States.Timeout', 'the task timed out before its token was answered'));
  }

  /** Resolves with the task's output, or rejects with the error it was failed with. */
  wait(token: string): Promise<unknown> {
    const w = this.waiting.get(token);
    if (w === undefined) throw new Error('unknown task token');
    return w.promise;
  }

  private take(token: unknown): Waiting {
    const w = typeof token === 'string' ? this.waiting.get(token) : undefined;
    if (w === undefined || w.answered) throw new AwsJsonError('TaskDoesNotExist', 'Task does not exist anymore');
    w.answered = true;
    return w;
  }

  /** Serves SendTask* and any `more` operations (the rehearsal's StartExecution of the cleanup machine). */
  async start(more: Record<string, JsonOperation> = {}): Promise<string> {
    this.server = await startJsonProtocolServer({
      targetPrefix: 'AWSStepFunctions',
      contentType: 'application/x-amz-json-1.0',
      operations: { ...this.operations(), ...more },
    });
    return this.server.endpoint;
  }

  /** SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat, for a server that speaks more of the SFN protocol. */
  operations(): Record<string, JsonOperation> {
    return {
      SendTaskSuccess: (request) => {
        let output: unknown;
        try {
          output = JSON.parse(String(request.output));
        } catch {
          throw new AwsJsonError('InvalidOutput', 'output is not JSON');
        }
        this.take(request.taskToken).resolve(output);
        return {};
      },
      SendTaskFailure: (request) => {
        this.take(request.taskToken).reject(new TaskFailedError(String(request.error ?? 'States.TaskFailed'), String(request.cause ?? '')));
        return {};
      },
      SendTaskHeartbeat: (request) => {
        const w = typeof request.taskToken === 'string' ? this.waiting.get(request.taskToken) : undefined;
        if (w === undefined || w.answered) throw new AwsJsonError('TaskDoesNotExist', 'Task does not exist anymore');
        return {};
      },
    };
  }

  async close(): Promise<void> {
    await this.server?.close();
  }
}
