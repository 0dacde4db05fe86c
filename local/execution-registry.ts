import { randomUUID } from 'node:crypto';
import { AwsJsonError } from './json-protocol.js';
import type { LocalStack } from './local-stack.js';
import { PAYLOAD_LIMIT_BYTES } from './service-limits.js';
import { LOCAL_ACCOUNT, LOCAL_REGION, LOCAL_STATE_MACHINE_NAME, localArns, parseStatesArn } from './local-arns.js';
import { page } from './list-page.js';
import type { LocalExecution } from './runner-types.js';
import { MapFence } from './map-fence.js';
import { StopSwitch } from './stop-switch.js';
import { taskOverrides } from './task-overrides.js';
import { executionEndedEvent } from './execution-ended-event.js';
import { startExecution } from './state-machine-runner.js';
import { ExecutionHistories, type ChildExecution, type HistoryRecorder } from './history-events.js';

const STATE_MACHINE_NAME = LOCAL_STATE_MACHINE_NAME;

type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** A task an execution started: its state, the node its payload names (runbook steps), when. */
export interface StartedTask {
  stateName: string;
  nodeId: string | null;
  at: number;
}

interface ExecutionRecord {
  executionArn: string;
  name: string;
  input: string;
  startDate: number;
  stopDate?: number;
  status: ExecutionStatus;
  output?: string;
  error?: string;
  cause?: string;
  history: HistoryRecorder;
  histories: ExecutionHistories;
  execution: LocalExecution;
  done: Promise<void>;
  /** `tasks`: every task the execution started (state, the node its payload names, when), for tests of StopExecution. */
  state: { stop: StopSwitch; tasks: StartedTask[] };
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

/**
 * The upgrade state machine's executions in `local serve`: StartExecution runs the synthesized definition with the
 * real handlers; DescribeExecution, GetExecutionHistory, ListExecutions and StopExecution answer from what each
 * execution (and each child of its Distributed Maps) recorded, as Step Functions would.
 */
export class LocalExecutions {
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly background = new Set<Promise<unknown>>();

  constructor(
    private readonly stack: LocalStack,
    readonly stateMachineArn: string,
    /** The state machine's role: its executions' histories name it. */
    private readonly roleArn: string,
  ) {}

  /** The tasks an execution started, with when (Step Functions starts none after StopExecution). */
  startedTasks(executionArn: string): readonly StartedTask[] {
    return this.find(executionArn).state.tasks;
  }

  /** Resolves once every execution has ended and every stop cleanup has run. */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
    await Promise.allSettled([...this.executions.values()].map((e) => e.done));
  }

  /** Stops every execution still running. */
  stopAll(error: string, cause: string): void {
    for (const e of this.executions.values()) if (e.status === 'RUNNING') this.stop(e.executionArn, error, cause);
  }

  /** ListMapRuns: the Map Runs the execution (a parent, or a child running a Distributed Map of its own) started. */
  listMapRuns(r: Record<string, unknown>): { mapRuns: unknown[]; nextToken?: string } {
    const arn = r.executionArn;
    if (parseStatesArn(arn)?.type !== 'execution') throw new AwsJsonError('InvalidArn', `Invalid Arn: '${String(arn)}' is not an execution ARN`);
    if (this.findChild(arn) === undefined) this.find(arn);
    const runs = [...this.executions.values()].flatMap((e) => e.histories.mapRuns).filter((run) => run.owner.executionArn === arn);
    const { items, nextToken } = page(runs, r);
    return { mapRuns: items.map((run) => run.listItem()), ...(nextToken !== undefined ? { nextToken } : {}) };
  }

  /** DescribeMapRun. */
  describeMapRun(r: Record<string, unknown>): Record<string, unknown> {
    const arn = r.mapRunArn;
    if (parseStatesArn(arn)?.type !== 'mapRun') throw new AwsJsonError('InvalidArn', `Invalid Arn: '${String(arn)}' is not a Map Run ARN`);
    const run = [...this.executions.values()].flatMap((e) => e.histories.mapRuns).find((m) => m.arn === arn);
    if (run === undefined) throw new AwsJsonError('ResourceNotFound', `Resource not found: '${String(arn)}'`);
    return run.describe();
  }

  /** DescribeExecution, of an execution or of a Distributed Map's child. */
  describe(executionArn: unknown): Record<string, unknown> {
    const child = this.findChild(executionArn);
    return child ? this.describeChild(child) : this.describeExecution(this.find(executionArn));
  }

  private find(arn: unknown): ExecutionRecord {
    const e = typeof arn === 'string' ? this.executions.get(arn) : undefined;
    if (e === undefined) throw new AwsJsonError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(arn)}'`);
    return e;
  }

  /** A child execution of a Distributed Map's Map Run. */
  private findChild(arn: unknown): ChildExecution | undefined {
    if (typeof arn !== 'string') return undefined;
    for (const e of this.executions.values()) {
      const child = e.histories.children.get(arn);
      if (child !== undefined) return child;
    }
    return undefined;
  }

  private describeChild(c: ChildExecution): Record<string, unknown> {
    return {
      executionArn: c.executionArn,
      stateMachineArn: `${this.stateMachineArn}/${c.executionArn.split(':')[6]?.split('/')[1] ?? ''}`,
      name: c.name,
      status: c.status,
      startDate: c.startDate / 1000,
      ...(c.stopDate !== undefined ? { stopDate: c.stopDate / 1000 } : {}),
      input: JSON.stringify(c.input ?? null),
      mapRunArn: c.mapRunArn,
    };
  }

  start(r: Record<string, unknown>): { executionArn: string; startDate: number } {
    if (r.stateMachineArn !== this.stateMachineArn)
      throw new AwsJsonError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(r.stateMachineArn)}'`);
    const name = typeof r.name === 'string' && r.name !== '' ? r.name : randomUUID();
    if (!/^[A-Za-z0-9_.-]{1,80}$/.test(name)) throw new AwsJsonError('InvalidName', `Invalid Name: '${name}'`);
    const inputText = typeof r.input === 'string' ? r.input : '{}';
    // StartExecution's input is at most 262,144 bytes (UTF-8): a longer one is refused, no execution starts.
    if (Buffer.byteLength(inputText, 'utf8') > PAYLOAD_LIMIT_BYTES) {
      throw new AwsJsonError(
        'ValidationException',
        `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${PAYLOAD_LIMIT_BYTES}`,
      );
    }
    let input: unknown;
    try {
      input = JSON.parse(inputText);
    } catch {
      throw new AwsJsonError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not JSON');
    }
    const executionArn = localArns(STATE_MACHINE_NAME).execution(name);
    const existing = this.executions.get(executionArn);
    if (existing !== undefined) {
      // As in AWS (Standard): the same name with the same input is the same execution; anything else is refused.
      if (existing.input === inputText && existing.status === 'RUNNING') return { executionArn, startDate: existing.startDate / 1000 };
      throw new AwsJsonError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const { parts, handlers, tokens, iam } = this.stack;
    const fence = new MapFence(parts.definition);
    const histories = new ExecutionHistories(parts.definition, {
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      stateMachine: STATE_MACHINE_NAME,
      execution: name,
    });
    const history = histories.root;
    const startDate = Date.now();
    history.started(input, startDate, this.roleArn);
    const state: ExecutionRecord['state'] = { stop: new StopSwitch(), tasks: [] };
    const overrides = state.stop.tasks(
      taskOverrides(parts.definition, handlers, tokens, fence, {
        stateMachineArn: iam.stateMachineArn,
        authorizeInvoke: (functionArn) => iam.asStateMachine('lambda:InvokeFunction', functionArn),
      }),
      (stateName, taskInput) => {
        const nodeId = (taskInput as { Payload?: { node?: { id?: unknown } } } | null)?.Payload?.node?.id;
        state.tasks.push({ stateName, nodeId: typeof nodeId === 'string' ? nodeId : null, at: Date.now() });
      },
      (stateName, taskInput, result) => histories.taskResult(stateName, taskInput, result),
    );
    const execution = startExecution({
      definition: parts.definition,
      overrides,
      input,
      executionName: name,
      tokens,
      stateMachineName: STATE_MACHINE_NAME,
      fence,
    });
    const record: ExecutionRecord = {
      executionArn,
      name,
      input: inputText,
      startDate,
      status: 'RUNNING',
      history,
      histories,
      execution,
      done: Promise.resolve(),
      state,
    };
    const mapChildren = iam.mapChildrenCheck(parts.definition);
    const consume = (async () => {
      for await (const event of execution.events) {
        if (record.status === 'ABORTED') break;
        mapChildren(event);
        histories.add(event);
      }
    })();
    record.done = (async () => {
      const outcome = await execution.result;
      await consume.catch(() => undefined);
      if (record.status === 'ABORTED') return;
      record.stopDate = Date.now();
      histories.flush(record.stopDate);
      if (outcome.status === 'SUCCEEDED') {
        record.status = 'SUCCEEDED';
        record.output = JSON.stringify(outcome.output ?? null);
        history.succeeded(outcome.output, record.stopDate);
      } else {
        Object.assign(record, { status: outcome.status, error: outcome.error, cause: outcome.cause });
        if (outcome.status === 'TIMED_OUT') history.timedOut(outcome.error, outcome.cause, record.stopDate);
        else history.failedExecution(outcome.error, outcome.cause, record.stopDate);
        // A timeout or a limit ends the execution at once: tasks still waiting (for a token) are let go.
        state.stop.stop(() => undefined);
      }
      // Every status change goes on the bus; the stack's stop rule takes FAILED and TIMED_OUT (a failure no
      // Catch takes skips the failure path), not SUCCEEDED.
      this.cleanUp(
        executionEndedEvent({
          status: outcome.status,
          executionArn,
          stateMachineArn: this.stateMachineArn,
          name,
          startDate,
          stopDate: record.stopDate,
          input: inputText,
          ...(outcome.status === 'SUCCEEDED' ? { output: record.output } : { error: outcome.error, cause: outcome.cause }),
        }),
      );
    })();
    this.executions.set(executionArn, record);
    return { executionArn, startDate: startDate / 1000 };
  }

  /**
   * StopExecution: the execution ends at once, without its catch paths (as in AWS); then the status-change
   * event goes to `run-stopped`, exactly as the stack's EventBridge rule delivers it.
   */
  stop(executionArn: string, error?: string, cause?: string): void {
    const record = this.find(executionArn);
    if (record.status !== 'RUNNING') return;
    record.status = 'ABORTED';
    record.stopDate = Date.now();
    if (error !== undefined) record.error = error;
    if (cause !== undefined) record.cause = cause;
    record.state.stop.stop(() => record.execution.abort());
    record.histories.abortChildren(record.stopDate);
    record.history.aborted(error ?? '', cause ?? '', record.stopDate);
    this.cleanUp(
      executionEndedEvent({
        status: 'ABORTED',
        executionArn,
        stateMachineArn: this.stateMachineArn,
        name: record.name,
        startDate: record.startDate,
        stopDate: record.stopDate,
        input: record.input,
        ...(error !== undefined ? { error } : {}),
        ...(cause !== undefined ? { cause } : {}),
      }),
    );
  }

  /** Puts an ended execution's status change on the bus (the stop rule hands it to `run-stopped`), in the background. */
  private cleanUp(event: ReturnType<typeof executionEndedEvent>): void {
    const cleanup = (async () => {
      // Commands already on their way finish first (SSM does not cancel them either).
      await this.stack.ssm.idle();
      await this.stack.bus.put(event);
    })().catch((e: unknown) => process.stderr.write(`run-stopped: ${e instanceof Error ? e.message : String(e)}\n`));
    this.background.add(cleanup);
    void cleanup.finally(() => this.background.delete(cleanup));
  }

  private describeExecution(e: ExecutionRecord): Record<string, unknown> {
    return {
      executionArn: e.executionArn,
      stateMachineArn: this.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate / 1000,
      ...(e.stopDate !== undefined ? { stopDate: seconds(e.stopDate) } : {}),
      input: e.input,
      inputDetails: { included: true },
      ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
      ...(e.cause !== undefined ? { cause: e.cause } : {}),
    };
  }

  history(r: Record<string, unknown>): { events: unknown[]; nextToken?: string } {
    const e = this.findChild(r.executionArn) ?? this.find(r.executionArn);
    const max = Math.min(Math.max(Number(r.maxResults ?? 1000) || 1000, 1), 1000);
    const all = r.reverseOrder === true ? [...e.history.events].reverse() : e.history.events;
    const from = typeof r.nextToken === 'string' ? Number(r.nextToken) : 0;
    if (!Number.isInteger(from) || from < 0) throw new AwsJsonError('InvalidToken', 'Invalid Token');
    const page = all.slice(from, from + max);
    return { events: page, ...(from + max < all.length ? { nextToken: String(from + max) } : {}) };
  }

  list(r: Record<string, unknown>): { executions: unknown[] } {
    if (typeof r.mapRunArn === 'string') {
      const children = [...this.executions.values()].flatMap((e) => [...e.histories.children.values()]).filter((c) => c.mapRunArn === r.mapRunArn);
      return { executions: children.map((c) => ({ ...this.describeChild(c), input: undefined })) };
    }
    const filter = typeof r.statusFilter === 'string' ? r.statusFilter : undefined;
    const all = [...this.executions.values()]
      .filter((e) => filter === undefined || e.status === filter)
      .sort((a, b) => b.startDate - a.startDate)
      .slice(0, Math.max(1, Math.min(Number(r.maxResults ?? 100) || 100, 1000)));
    return {
      executions: all.map((e) => ({
        executionArn: e.executionArn,
        stateMachineArn: this.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: e.startDate / 1000,
        ...(e.stopDate !== undefined ? { stopDate: e.stopDate / 1000 } : {}),
      })),
    };
  }
}
