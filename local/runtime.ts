import { resolve } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { ClusterFile } from './cluster-file.js';
import type { LocalDynamoDb } from './dynamodb/start.js';
import type { InjectedFailure } from './ssm-endpoint.js';
import type { JsonOperation } from './json-protocol.js';
import { routeRequest } from './runtime-routes.js';
import type { ApprovalPageHandler } from './approval-server.js';
import type { DoctorWorld } from './doctor-endpoints.js';
import { handler as approvalPageHandler } from '../lambdas/approval-page/index.js';
import { LocalTaskTokens } from './task-tokens.js';
import { cleanWorkdir } from './rehearsal.js';
import { prepareLocalStack, type LocalStack } from './local-stack.js';
import { localArns, LOCAL_STATE_MACHINE_NAME } from './local-arns.js';
import { LocalExecutions, type StartedTask } from './execution-registry.js';
import { describeStacksXml, LOCAL_STACK_NAME } from './describe-stacks-xml.js';
import { LocalStateMachines } from './state-machine-descriptions.js';

export interface LocalRuntimeOptions {
  cluster: ClusterFile;
  /** Versions the local package repository offers (besides the nodes' own). */
  versions: string[];
  /** Sandboxes, packages and command output (emptied first). */
  workdir: string;
  failures?: InjectedFailure[];
  dynamodb?: LocalDynamoDb;
  /** Port to listen on (127.0.0.1); 0 = any free port. */
  port?: number;
  /** Email subscriptions to the operator topic (pending until `fleet-upgrade confirm-subscription`). */
  approverEmails?: string[];
}

/**
 * The local runtime as a server (`fleet-upgrade local serve`): on one loopback port it speaks the Step
 * Functions JSON 1.0 subset the CLI uses (StartExecution, DescribeExecution, GetExecutionHistory,
 * ListExecutions, StopExecution, SendTask*) and the reads scripts and consoles make (DescribeStateMachine,
 * ListStateMachines, ListMapRuns, DescribeMapRun), passes DynamoDB calls through to the local DynamoDB, and answers
 * CloudFormation DescribeStacks with the stack's outputs — so the CLI, given `--endpoint`, runs exactly
 * the code that talks to AWS. Executions run the synthesized definition with the real handlers.
 */
export class LocalRuntime {
  readonly stateMachineArn = localArns(LOCAL_STATE_MACHINE_NAME).stateMachine;
  private page: ApprovalPageHandler | undefined;
  private readonly executions: LocalExecutions;
  private readonly machines: LocalStateMachines;

  private constructor(
    readonly endpoint: string,
    readonly stack: LocalStack,
    private readonly server: Server,
    private readonly cleanups: (() => Promise<void>)[],
  ) {
    // Deployed, as far as DescribeStateMachine can tell, when the runtime started.
    this.machines = new LocalStateMachines(stack.template, stack.parts, Date.now());
    this.executions = new LocalExecutions(stack, this.stateMachineArn, this.machines.roleArn(this.stateMachineArn));
  }

  static async start(opts: LocalRuntimeOptions): Promise<LocalRuntime> {
    const workdir = resolve(opts.workdir);
    await cleanWorkdir(workdir);
    const cleanups: (() => Promise<void>)[] = [];
    const tokens = new LocalTaskTokens();
    // The server is up before the stack, so the handlers can be pointed at it; it answers once `runtime` is set.
    let runtime: LocalRuntime | undefined;
    const server = createServer((req, res) => {
      void routeRequest(req, res, () => runtime);
    });
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(opts.port ?? 0, '127.0.0.1', done);
    });
    const address = server.address();
    const endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    cleanups.push(
      () =>
        new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
    );
    try {
      const stack = await prepareLocalStack({
        cluster: opts.cluster,
        versions: opts.versions,
        workdir,
        cleanups,
        tokens,
        sfnEndpoint: endpoint,
        ...(opts.failures ? { failures: opts.failures } : {}),
        ...(opts.dynamodb ? { dynamodb: opts.dynamodb } : {}),
        ...(opts.approverEmails ? { approverEmails: opts.approverEmails } : {}),
      });
      runtime = new LocalRuntime(endpoint, stack, server, cleanups);
      return runtime;
    } catch (error) {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      throw error;
    }
  }

  /** The stack outputs, as `cdk deploy` would have written them. */
  outputs(): Record<string, string> {
    return {
      StateMachineArn: this.stateMachineArn,
      CleanupStateMachineArn: this.stack.cleanup.arn,
      TableName: this.stack.tableName,
      DocumentName: 'fleet-upgrade-runbook',
      ...(this.stack.iam.topicArn === undefined ? {} : { TopicArn: this.stack.iam.topicArn }),
      ApprovalUrl: `${this.endpoint}/approval`,
      ArtifactBaseUrl: this.stack.artifactBaseUrl,
    };
  }

  approvalPage(): ApprovalPageHandler {
    this.page ??= this.stack.iam.asFunction('approval-page', approvalPageHandler);
    return this.page;
  }

  doctorWorld(): DoctorWorld {
    return {
      template: this.stack.template,
      policies: this.stack.iam.policies,
      documentName: 'fleet-upgrade-runbook',
      nodeIds: [...this.stack.nodeRoots.keys()],
      stackName: LOCAL_STACK_NAME,
    };
  }

  /** The tasks an execution started, with when (Step Functions starts none after StopExecution). */
  startedTasks(executionArn: string): readonly StartedTask[] {
    return this.executions.startedTasks(executionArn);
  }

  /** Resolves once every execution has ended and every stop cleanup has run. */
  async idle(): Promise<void> {
    await this.executions.idle();
    await this.stack.cleanup.idle();
  }

  async close(): Promise<void> {
    this.executions.stopAll('LocalRuntimeClosed', 'the local runtime was shut down');
    await this.idle();
    await this.stack.ssm.idle();
    for (const cleanup of this.cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        process.stderr.write(`local runtime cleanup: ${String(error)}\n`);
      }
    }
  }

  /** The Step Functions operations, by name. */
  operations(): Record<string, JsonOperation> {
    return {
      ...this.stack.tokens.operations(),
      StartExecution: (r) => (r.stateMachineArn === this.stack.cleanup.arn ? this.stack.cleanup.start(r) : this.executions.start(r)),
      DescribeExecution: (r) => this.executions.describe(r.executionArn),
      GetExecutionHistory: (r) => this.executions.history(r),
      ListExecutions: (r) => this.executions.list(r),
      StopExecution: (r) => {
        this.executions.stop(
          String(r.executionArn ?? ''),
          typeof r.error === 'string' ? r.error : undefined,
          typeof r.cause === 'string' ? r.cause : undefined,
        );
        return { stopDate: Date.now() / 1000 };
      },
      DescribeStateMachine: (r) => this.machines.describe(r),
      ListStateMachines: (r) => this.machines.list(r),
      ListMapRuns: (r) => this.executions.listMapRuns(r),
      DescribeMapRun: (r) => this.executions.describeMapRun(r),
    };
  }

  /** CloudFormation DescribeStacks (query protocol, XML), with the outputs the CLI reads. */
  describeStacksXml(stackName: string | null): string {
    return describeStacksXml(this.outputs(), stackName);
  }
}
