import { AwsJsonError } from './json-protocol.js';
import type { LocalIam } from './iam/local-iam.js';
import type { LocalTaskTokens } from './task-tokens.js';
import type { LocalStackParts } from './template.js';
import {
  LOCAL_CLEANUP_STATE_MACHINE_NAME,
  localArns,
  startExecution,
  taskOverrides,
  type ExecutionOutcome,
  type LocalHandler,
} from './state-machine-runner.js';

/** What the cleanup machine runs with; known once the local stack is up (the SFN endpoint starts first). */
export interface CleanupMachineDeps {
  parts: LocalStackParts;
  handlers: ReadonlyMap<string, LocalHandler>;
  tokens: LocalTaskTokens;
  iam: LocalIam;
}

interface CleanupExecution {
  name: string;
  input: string;
  status: 'RUNNING' | ExecutionOutcome['status'];
  outcome: Promise<ExecutionOutcome>;
}

/**
 * The stack's cleanup state machine, locally: `run-stopped` starts an execution of it through the SFN
 * endpoint (StartExecution), and it runs the synthesized cleanup definition with the real `clean-up-run`.
 * Names are unique as in AWS (Standard): the same name with the same input while it runs is the same
 * execution; otherwise ExecutionAlreadyExists.
 */
export class LocalCleanupMachine {
  readonly arn = localArns(LOCAL_CLEANUP_STATE_MACHINE_NAME).stateMachine;
  private readonly executions = new Map<string, CleanupExecution>();
  private deps: CleanupMachineDeps | undefined;

  constructor(private readonly onEnded: (name: string, outcome: ExecutionOutcome) => void = () => undefined) {}

  /** Connects the machine to the stack it runs on. */
  attach(deps: CleanupMachineDeps): void {
    this.deps = deps;
  }

  /** StartExecution for this machine's ARN. */
  start(request: Record<string, unknown>): { executionArn: string; startDate: number } {
    const deps = this.deps;
    if (deps === undefined) throw new AwsJsonError('ServiceUnavailable', 'the local cleanup state machine is not ready');
    if (request.stateMachineArn !== this.arn)
      throw new AwsJsonError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(request.stateMachineArn)}'`);
    const name = typeof request.name === 'string' ? request.name : '';
    if (!/^[A-Za-z0-9_.-]{1,80}$/.test(name)) throw new AwsJsonError('InvalidName', `Invalid Name: '${name}'`);
    const input = typeof request.input === 'string' ? request.input : '{}';
    const executionArn = localArns(LOCAL_CLEANUP_STATE_MACHINE_NAME).execution(name);
    const existing = this.executions.get(name);
    if (existing !== undefined) {
      if (existing.input === input && existing.status === 'RUNNING') return { executionArn, startDate: Date.now() / 1000 };
      throw new AwsJsonError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const { parts, handlers, tokens, iam } = deps;
    const execution = startExecution({
      definition: parts.cleanup.definition,
      overrides: taskOverrides(parts.cleanup.definition, handlers, tokens, undefined, {
        stateMachineArn: this.arn,
        authorizeInvoke: (functionArn) => iam.asStateMachine('lambda:InvokeFunction', functionArn, 'cleanup'),
      }),
      input: JSON.parse(input) as unknown,
      executionName: name,
      tokens,
      stateMachineName: LOCAL_CLEANUP_STATE_MACHINE_NAME,
    });
    // Nobody reads the events; they are drained so the runner does not hold them.
    void (async () => {
      for await (const _event of execution.events);
    })();
    const record: CleanupExecution = { name, input, status: 'RUNNING', outcome: execution.result };
    void execution.result.then((outcome) => {
      record.status = outcome.status;
      this.onEnded(name, outcome);
    });
    this.executions.set(name, record);
    return { executionArn, startDate: Date.now() / 1000 };
  }

  /** How each execution ended so far (name → status). */
  statuses(): Record<string, CleanupExecution['status']> {
    return Object.fromEntries([...this.executions.values()].map((e) => [e.name, e.status]));
  }

  /** Resolves once no cleanup execution is running. */
  async idle(): Promise<void> {
    while ([...this.executions.values()].some((e) => e.status === 'RUNNING')) {
      await Promise.allSettled([...this.executions.values()].map((e) => e.outcome));
    }
  }
}
