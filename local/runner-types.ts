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
