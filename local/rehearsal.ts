import { mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException, UpdateTimeToLiveCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { parseInput, type UpgradeInput } from '../core/input-schema.js';
import { InputValidationError } from '../core/errors.js';
import { refuseDowngrade } from '../core/plan.js';
import { startLocalProxy } from './https-proxy.js';
import type { Summary } from '../core/summary.js';
import { FleetStore } from '../adapters/store.js';
import { documentClient, resetClients } from '../adapters/aws-clients.js';
import type { IamDenial } from './iam/enforce.js';
import { localIam } from './iam/local-iam.js';
import { answerThroughPage, startApprovalServer } from './approval-server.js';
import { handler as approvalPageHandler } from '../lambdas/approval-page/index.js';
import { resetApprovalKey } from '../adapters/approval-links.js';
import type { Decision } from '../core/approval.js';
import { startLocalSns, type PublishedMessage } from './sns-endpoint.js';
import { randomBytes } from 'node:crypto';
import { logger } from '../adapters/logger.js';
import type { ClusterFile } from './cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from './dynamodb/start.js';
import { startLocalSsm, type InjectedFailure, type LocalSsm } from './ssm-endpoint.js';
import { LocalTaskTokens } from './task-tokens.js';
import { localStackParts, readTemplateFile, synthesizeTemplate } from './template.js';
import type { StepId } from '../core/steps.js';
import { LOCAL_STATE_MACHINE_NAME, MapFence, capStepTimeouts, StopSwitch, executionEndedEvent, localArns, startExecution, taskOverrides, type LocalHandler } from './state-machine-runner.js';
import { unresponsiveAfterSeconds } from '../adapters/command-completion.js';
import { startPackageRepo } from './package-repo.js';
import { createSandbox, stopService } from './sandbox.js';
import { ExecutionCounter } from './execution-counter.js';
import { LocalCleanupMachine } from './cleanup-machine.js';
import { ProgressPrinter } from './progress.js';
import { LOCAL_HANDLERS } from './handlers.js';
import { StepTimer, type StepTiming } from './step-timings.js';
import { DEFAULT_LAMBDA_TIMEOUT_SECONDS, withLambdaTimeout } from './lambda-timeout.js';
import { LocalEventBus } from './eventbridge.js';

export interface RehearsalOptions {
  cluster: ClusterFile;
  targetVersion: string;
  /** Where sandboxes, packages and command output go; emptied first. */
  workdir: string;
  roleOrder?: string[];
  force?: boolean;
  ignoreInspectFailures?: boolean;
  /** Nodes of a role upgraded at once (`unmatched` for the final group); default 1. */
  concurrency?: Record<string, number>;
  /** Nodes of a role that stay in service while its group upgrades: a count or "NN%". */
  minHealthy?: Record<string, number | string>;
  /** Only check every node and stage the package where needed; no maintenance window. */
  prepareOnly?: boolean;
  /**
   * Serve packages only through a forward proxy on loopback and hand the nodes its URL as HTTPS_PROXY:
   * `true` picks a free port, `http://127.0.0.1:PORT` listens there.
   */
  httpsProxy?: string | true;
  /** The runbook under `runbooks/` the SSM document is built from. @default 'release-dir' */
  runbook?: string;
  /** Absolute path of a runbook folder outside runbooks/ (benchmarks); wins over `runbook`. */
  runbookPath?: string;
  /** A template `cdk synth` wrote: rehearsed as it is (its policies, document and definition) instead of synthesizing one. */
  template?: string;
  /**
   * Bare sandboxes hold only `<root>/VERSION` (the node's version) and no service: for runbooks that
   * touch nothing else, such as the benchmarks' timed runbook. @default false
   */
  bareSandboxes?: boolean;
  /** Extra environment of the nodes' agent (e.g. the benchmarks' FU_BENCH_SCALE). */
  nodeEnv?: Record<string, string>;
  /** Directories put first on the nodes' PATH (e.g. a test's fake `kato`). */
  nodePath?: string[];
  failures?: InjectedFailure[];
  /**
   * Caps every step's timeout (seconds) so injected hangs and lost events play out in seconds: the SSM
   * execution timeout (run-step's STEP_TIMEOUT_CAP_SECONDS) and the step tasks' own timeouts.
   */
  stepTimeoutSeconds?: number;
  /**
   * The steps `stepTimeoutSeconds` caps (default: every step). Capping only the faulted step keeps a
   * loaded machine's slow but healthy steps from timing out.
   */
  cappedSteps?: StepId[];
  /** The package repository serves the target version's package with bytes that do not match SHA256SUMS. */
  corruptPackage?: boolean;
  /**
   * Answers to the operator's approval requests, in order (`--decision`); when they run out the
   * rehearsal prints how to decide and waits (until approval.timeoutMinutes, then onTimeout).
   */
  decisions?: Decision[];
  /** Minutes an approval waits before onTimeout decides (the input's approval.timeoutMinutes). */
  approvalTimeoutMinutes?: number;
  onTimeout?: 'rollback' | 'abort';
  /**
   * Resume the run with this id (same workdir: its table is kept there): the sandboxes stay as it left them;
   * upgraded nodes are skipped by their version check, an interrupted node restarts from a safe step.
   */
  resumeFrom?: string;
  /** Lambda handlers made to throw, as a crashing function would (fault injection). */
  lambdaFaults?: LambdaFault[];
  runId?: string;
  /** A local DynamoDB the caller owns (kept running afterwards, e.g. for a test to inspect). */
  dynamodb?: LocalDynamoDb;
  /** Leave the sandbox services running at the end (a test inspects them, then stops them). */
  keepServices?: boolean;
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
  /**
   * Stops the run as `fleet-upgrade stop` does (StopExecution: no further state, no catch path), then
   * hands the status change to `run-stopped`, as the stack's EventBridge rule does: the step under way
   * finishes on its node, a node caught mid-upgrade is rolled back, maintenance mode goes off and the
   * lock is released. The abort reason (a string) is the stop's cause. The CLI aborts on Ctrl-C.
   */
  signal?: AbortSignal;
}

/** A handler that throws `times` times when its event matches (`step`/`nodeId` of run-step and record-node events). */
export interface LambdaFault {
  handler: string;
  times: number;
  step?: string;
  nodeId?: string;
}

/**
 * The scripted operator decides as a person would: after the nodes that were in flight when it was asked have
 * finished their current node (or failed and asked too), and a moment to read; so a rehearsal shows the nodes
 * held meanwhile (and a node started while the question was open would show in the invariants).
 */
async function inFlightSettled(store: FleetStore, approvalId: string, limitMs = 120_000): Promise<void> {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const deadline = Date.now() + limitMs;
  const approval = await store.getApproval(approvalId);
  const inFlight = approval?.inFlight ?? [];
  if (approval === null || inFlight.length === 0) return;
  while (Date.now() < deadline) {
    const [{ outcomes }, holds] = await Promise.all([store.runRecords(approval.runId), store.openHolds(approval.runId)]);
    const settled = new Set([...outcomes.map((o) => o.nodeId), ...holds.map((h) => h.nodeId)]);
    if (inFlight.every((id) => settled.has(id))) break;
    await sleep(100);
  }
  await sleep(1_000);
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

export interface RehearsalResult {
  summary: Summary & {
    execution: {
      name: string; status: string; events: number; childEvents: number; childExecutions: number; stateTransitions: number; maxPayloadBytes: number; durationMs: number;
      /** The largest result a Map gathered from its iterations (held to 256 KiB like any payload). */
      maxMapResultBytes: number;
      /** AWS calls judged against the caller's IAM policies from the template, and how many were denied. */
      iam: { checked: number; denied: number };
    };
  };
  nodeRoots: Map<string, string>;
  tableName: string;
  /** Requests the loopback proxy forwarded (empty without `httpsProxy`). */
  proxied: string[];
  /** Messages published to the operators' topic (approval requests, failed rollbacks). */
  notifications: PublishedMessage[];
  /** Lambda invocations per handler, as AWS would bill them. */
  invocations: Record<string, number>;
  /** Every node step: its task state's time, and how long its script ran on the node. */
  steps: (StepTiming & { scriptMs: number })[];
}

export const TABLE_NAME = 'fleet-upgrade-rehearsal';
const RUNBOOKS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'runbooks');
export const DOCUMENT_NAME = 'fleet-upgrade-runbook';

/** A readable, unique run id: `demo-3.1.0-20261124T103000`. */
export function defaultRunId(cluster: string, version: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  return `${cluster}-${version}-${stamp}`.slice(0, 80);
}

/** The execution input a rehearsal sends: the public contract, built from the cluster file and options. */
export function rehearsalInput(
  opts: Pick<RehearsalOptions, 'cluster' | 'targetVersion' | 'roleOrder' | 'force' | 'ignoreInspectFailures' | 'prepareOnly' | 'concurrency' | 'minHealthy' | 'approvalTimeoutMinutes' | 'onTimeout' | 'resumeFrom'> & {
    httpsProxy?: string;
  },
): UpgradeInput {
  return parseInput({
    cluster: opts.cluster.cluster,
    targetVersion: opts.targetVersion,
    nodes: opts.cluster.nodes.map((n) => ({ id: n.id, roles: n.roles })),
    ...(opts.roleOrder ? { roleOrder: opts.roleOrder } : {}),
    ...(opts.force ? { force: true } : {}),
    ...(opts.ignoreInspectFailures ? { ignoreInspectFailures: true } : {}),
    ...(opts.prepareOnly ? { prepareOnly: true } : {}),
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    ...(opts.approvalTimeoutMinutes !== undefined || opts.onTimeout !== undefined
      ? { approval: { ...(opts.approvalTimeoutMinutes !== undefined ? { timeoutMinutes: opts.approvalTimeoutMinutes } : {}), ...(opts.onTimeout ? { onTimeout: opts.onTimeout } : {}) } }
      : {}),
    ...(opts.minHealthy ? { minHealthy: opts.minHealthy } : {}),
    ...(opts.resumeFrom ? { resumeFrom: opts.resumeFrom } : {}),
    ...(opts.httpsProxy ? { httpsProxy: opts.httpsProxy } : {}),
  });
}

/** The port the rehearsal's own proxy listens on: 0 (any) for `true`, else the port of a loopback URL. */
export function rehearsalProxyPort(value: string | true): number {
  if (value === true) return 0;
  const match = /^http:\/\/(?:127\.0\.0\.1|localhost):([0-9]{1,5})\/?$/.exec(value);
  const port = Number(match?.[1]);
  if (match === null || port < 1 || port > 65_535) {
    throw new InputValidationError(
      `httpsProxy: the rehearsal runs its own proxy on loopback; give --https-proxy alone or as http://127.0.0.1:PORT, got ${JSON.stringify(value)}`,
      'httpsProxy',
    );
  }
  return port;
}

/** Runbooks are folders under runbooks/; the name reaches a path, so it is held to a pattern first. */
export function checkRunbookName(name: string): string {
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(name) || name === 'shared' || !existsSync(join(RUNBOOKS_DIR, name))) {
    // runbooks/shared holds what every runbook embeds; it is not a runbook of its own.
    const known = existsSync(RUNBOOKS_DIR) ? readdirSync(RUNBOOKS_DIR).filter((d) => d !== 'shared').join(', ') : 'none';
    throw new InputValidationError(`runbook: expected one of ${known}, got ${JSON.stringify(name)}`, 'runbook');
  }
  return name;
}

/** Creates the stack's table in the local DynamoDB, as the synthesized template defines it. */
export async function createTable(endpoint: string, properties: Record<string, unknown>): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: TABLE_NAME,
        KeySchema: properties.KeySchema as CreateTableCommandInput['KeySchema'],
        AttributeDefinitions: properties.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const ttl = properties.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
    if (ttl?.AttributeName !== undefined) {
      await client.send(new UpdateTimeToLiveCommand({ TableName: TABLE_NAME, TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: ttl.Enabled ?? true } }));
    }
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  } finally {
    client.destroy();
  }
}

/**
 * The stack synthesized with a built-in runbook, once per process (≈ 0.7 s each time otherwise): a process
 * that rehearses many times (the fault matrix, the tests) reuses it. A runbookPath is synthesized every
 * time, since its files may change between rehearsals.
 */
const builtInTemplates = new Map<string, ReturnType<typeof synthesizeTemplate>>();
async function builtInTemplate(runbook: string, workdir: string): Promise<ReturnType<typeof synthesizeTemplate>> {
  let template = builtInTemplates.get(runbook);
  if (template === undefined) {
    template = synthesizeTemplate({ runbook }, await ensureDir(join(workdir, 'cdk')));
    builtInTemplates.set(runbook, template);
  }
  return structuredClone(template);
}

/** Stops services a previous rehearsal left in the workdir, then empties it. */
export async function cleanWorkdir(workdir: string): Promise<void> {
  const nodes = join(workdir, 'nodes');
  if (existsSync(nodes)) {
    const { readdir } = await import('node:fs/promises');
    for (const id of await readdir(nodes)) await stopService(join(nodes, id));
  }
  await rm(workdir, { recursive: true, force: true });
  await mkdir(workdir, { recursive: true });
}

/**
 * The local rehearsal: runs the synthesized state machine and SSM document against sandbox nodes,
 * with the real handlers in-process, the local DynamoDB, a local SSM endpoint and a local package repository.
 */
export async function rehearse(opts: RehearsalOptions): Promise<RehearsalResult> {
  const say = opts.progress ?? (() => undefined);
  // Everything the caller gave is checked before anything is created or touched.
  const placeholderProxy = opts.httpsProxy === undefined ? undefined : `http://127.0.0.1:${rehearsalProxyPort(opts.httpsProxy) || 3128}`;
  const { httpsProxy: _proxyOption, ...rest } = opts;
  const checkedInput = rehearsalInput({ ...rest, ...(placeholderProxy ? { httpsProxy: placeholderProxy } : {}) });
  const runbook = checkRunbookName(opts.runbook ?? 'release-dir');
  // The cluster file says where each sandbox starts: a downgrade target is refused before anything exists.
  // (A resumed rehearsal continues on the sandboxes as the earlier run left them.)
  if (opts.resumeFrom === undefined) refuseDowngrade(checkedInput.targetVersion, new Map(opts.cluster.nodes.map((n) => [n.id, n.version])), checkedInput.force);
  const givenTemplate = opts.template === undefined ? undefined : await readTemplateFile(opts.template);
  const runId = opts.runId ?? defaultRunId(checkedInput.cluster, checkedInput.targetVersion);
  const workdir = resolve(opts.workdir);
  if (opts.resumeFrom === undefined) await cleanWorkdir(workdir);
  else if (!existsSync(join(workdir, 'nodes'))) {
    throw new InputValidationError(`resumeFrom: ${workdir} holds no sandboxes of an earlier rehearsal to resume`, 'resumeFrom');
  }

  const cleanups: (() => Promise<void>)[] = [];
  const nodeRoots = new Map(opts.cluster.nodes.map((n) => [n.id, join(workdir, 'nodes', n.id)]));
  try {
    const proxy = opts.httpsProxy === undefined ? undefined : await startLocalProxy(rehearsalProxyPort(opts.httpsProxy));
    if (proxy) {
      cleanups.push(() => proxy.close());
      say(`Packages are served only through the proxy at ${proxy.url} (HTTPS_PROXY on the nodes)`);
    }
    const input = proxy ? { ...checkedInput, httpsProxy: proxy.url } : checkedInput;
    say(`Preparing ${nodeRoots.size} sandbox nodes, the package repository and the local DynamoDB in ${workdir}`);
    const versions = [...new Set([...opts.cluster.nodes.map((n) => n.version), input.targetVersion])];
    const packageDir = join(workdir, 'packages');
    const repo = await startPackageRepo({ dir: packageDir, versions, onlyThroughProxy: proxy !== undefined, ...(opts.corruptPackage ? { corrupt: [input.targetVersion] } : {}) });
    cleanups.push(() => repo.close());
    // A resumed rehearsal keeps the sandboxes as the earlier run left them.
    const newSandboxes = opts.resumeFrom === undefined ? opts.cluster.nodes : [];
    for (let i = 0; i < newSandboxes.length; i += 50) {
      await Promise.all(
        newSandboxes.slice(i, i + 50).map(async (n) => {
          const root = nodeRoots.get(n.id) as string;
          if (opts.bareSandboxes === true) {
            await mkdir(root, { recursive: true });
            await writeFile(join(root, 'VERSION'), `${n.version}\n`);
            return;
          }
          await createSandbox({ root, version: n.version, packageDir, state: n.state ?? { node: n.id, roles: n.roles, data: `state of ${n.id}` } });
        }),
      );
    }
    if (!opts.keepServices) cleanups.push(async () => { await Promise.all([...nodeRoots.values()].map((root) => stopService(root))); });

    // In the workdir: a stopped rehearsal resumes on the table it left (--resume-from with the same --workdir).
    const dynamodb = opts.dynamodb ?? (await startLocalDynamoDb({ dir: join(workdir, 'dynamodb') }));
    if (opts.dynamodb === undefined) cleanups.push(() => dynamodb.stop());

    const template = givenTemplate ?? (opts.runbookPath !== undefined
      ? synthesizeTemplate({ runbook, runbookPath: resolve(opts.runbookPath) }, await ensureDir(join(workdir, 'cdk')))
      : await builtInTemplate(runbook, workdir));
    const parts = localStackParts(template, ({ table, document }) => ({ [table]: TABLE_NAME, [document]: DOCUMENT_NAME }));
    // IAM as AWS enforces it: each call a function (or the state machine) makes is judged against its role
    // in this template before it is served; the first denial stops the run, naming function and action.
    let stopForDenial: (cause: string) => void = () => undefined;
    const saidDenials = new Set<string>();
    const tokens = new LocalTaskTokens();
    const local = localIam(template, parts, {
      tableName: TABLE_NAME, documentName: DOCUMENT_NAME, stateMachineName: LOCAL_STATE_MACHINE_NAME, clusterTag: input.cluster, tokens,
      onDenied: (d: IamDenial) => {
        // Retries repeat a denial: say each once.
        const key = `${d.logicalId} ${d.action} ${d.resource}`;
        if (!saidDenials.has(key)) say(`IAM: AccessDeniedException — ${d.principal} (${d.logicalId}) may not ${d.action} on ${d.resource}: ${d.reason}`);
        saidDenials.add(key);
        stopForDenial(`AccessDeniedException: ${d.principal} may not ${d.action} on ${d.resource}`);
      },
    });
    cleanups.push(async () => local.uninstall());
    const iam = local.enforcer;
    const asFunction = local.asFunction;
    if (opts.stepTimeoutSeconds !== undefined) parts.definition = capStepTimeouts(parts.definition, opts.stepTimeoutSeconds, (cap) => unresponsiveAfterSeconds(cap) + 1, opts.cappedSteps);
    await createTable(dynamodb.endpoint, parts.table.properties);

    const invocations: Record<string, number> = {};
    // run-stopped starts the cleanup state machine through this endpoint, as it would in AWS.
    const cleanupMachine = new LocalCleanupMachine((name, outcome) => {
      if (outcome.status !== 'SUCCEEDED') say(`cleanup of ${name} ended ${outcome.status}: ${outcome.error}: ${outcome.cause}`);
    });
    const sfnEndpoint = await tokens.start({ StartExecution: (r) => cleanupMachine.start(r) });
    cleanups.push(() => tokens.close());

    // The approval page, served locally by the same handler as in AWS.
    const approvalServer = await startApprovalServer({ handler: asFunction('approval-page', approvalPageHandler) });
    cleanups.push(() => approvalServer.close());

    // Operator notifications: a local SNS topic; approval requests are answered as `decisions` say,
    // through the approval page's real HTTP GET + POST, as a human would.
    const decisions = [...(opts.decisions ?? [])];
    const answering: Promise<void>[] = [];
    const topic = await startLocalSns((message) => {
      if (message.attributes.kind !== 'approval') {
        say(`notification: ${message.subject}`);
        return;
      }
      const approvalId = message.attributes.approvalId ?? '';
      const link = message.attributes.link ?? '';
      const decision = decisions.shift();
      if (decision === undefined) {
        say(`approval ${approvalId}: ${message.subject}. Waiting for a decision: open ${link}`);
        return;
      }
      say(`approval ${approvalId}: ${message.subject}. Answering "${decision}" through the approval page (--decision) once the nodes in flight have settled`);
      answering.push(
        inFlightSettled(new FleetStore(documentClient(), TABLE_NAME), approvalId).then(() => answerThroughPage(link, decision)).then(
          () => undefined,
          (error: unknown) => say(`approval ${approvalId}: the decision was not taken: ${String(error)}`),
        ),
      );
    });
    cleanups.push(async () => {
      await Promise.allSettled(answering);
      await topic.close();
    });

    // The real handlers, each held to its function's Timeout from the template, as Lambda holds it.
    const handlers = new Map<string, LocalHandler>();
    for (const [logicalId, name] of Object.entries(parts.handlers)) {
      const handler = LOCAL_HANDLERS[name];
      if (handler === undefined) throw new Error(`function ${logicalId} names handler ${name}, which the rehearsal does not know`);
      const limited = withLambdaTimeout(handler, parts.timeouts[logicalId] ?? DEFAULT_LAMBDA_TIMEOUT_SECONDS);
      handlers.set(logicalId, counted(name, asFunction(name, withFaults(name, limited, opts.lambdaFaults ?? [])), invocations));
    }
    // Status changes (SSM commands, this execution) reach a function only through a rule of the template.
    const bus = new LocalEventBus(parts.rules, handlers);
    cleanupMachine.attach({ parts, handlers, tokens, iam: local });

    const ssm = await startLocalSsm({
      documentName: DOCUMENT_NAME,
      document: parts.document as never,
      nodeRoots,
      workdir,
      failures: opts.failures ?? [],
      onStatusChange: (event) => bus.put(event),
      env: { ...opts.nodeEnv, PATH: [...(opts.nodePath ?? []), process.env.PATH ?? '/usr/bin:/bin'].join(':'), LANG: 'C.UTF-8' },
    });
    cleanups.push(async () => {
      await ssm.idle();
      await ssm.close();
    });

    // The handlers read their configuration from the environment, exactly as in Lambda.
    Object.assign(process.env, parts.environment, {
      TABLE_NAME,
      DOCUMENT_NAME,
      ARTIFACT_BASE_URL: repo.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      AWS_ENDPOINT_URL_SSM: ssm.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: ssm.logsEndpoint,
      AWS_ENDPOINT_URL_SFN: sfnEndpoint,
      AWS_ENDPOINT_URL_SNS: topic.endpoint,
      APPROVAL_KEY: randomBytes(32).toString('hex'),
      // After the synthesized environment (whose APPROVAL_URL is the API Gateway endpoint's token).
      APPROVAL_URL: approvalServer.url,
      STEP_TIMEOUT_CAP_SECONDS: opts.stepTimeoutSeconds === undefined ? '' : String(opts.stepTimeoutSeconds),
      STEP_TIMEOUT_CAP_STEPS: (opts.cappedSteps ?? []).join(','),
      // run-stopped (a stopped rehearsal) polls the node's rollback and maintenance-off this often.
      RUN_STOPPED_POLL_MS: '200',
      POWERTOOLS_LOG_LEVEL: process.env.FLEET_UPGRADE_LAMBDA_LOG_LEVEL ?? 'SILENT',
      AWS_LAMBDA_LOG_LEVEL: process.env.FLEET_UPGRADE_LAMBDA_LOG_LEVEL ?? 'SILENT',
    });
    if (local.topicArn !== undefined) process.env.TOPIC_ARN = local.topicArn;
    // Clients built from now on see this environment, and carry the IAM check.
    resetClients();
    resetApprovalKey();
    // The logger may have been built before this environment was set: apply the level explicitly.
    logger.setLogLevel((process.env.FLEET_UPGRADE_LAMBDA_LOG_LEVEL ?? 'SILENT') as Parameters<typeof logger.setLogLevel>[0]);
    say(`Run ${runId}: ${input.cluster} → ${input.targetVersion}`);
    const started = Date.now();
    const fence = new MapFence(parts.definition);
    const stopped = new StopSwitch();
    const execution = startExecution({
      definition: parts.definition,
      overrides: stopped.tasks(taskOverrides(parts.definition, handlers, tokens, fence, {
        stateMachineArn: local.stateMachineArn,
        authorizeInvoke: (functionArn) => local.asStateMachine('lambda:InvokeFunction', functionArn),
      })),
      input,
      executionName: runId,
      tokens,
      fence,
    });
    let stopDate = 0;
    let stopCause: string | undefined;
    const stop = () => {
      if (stopped.aborted) return;
      stopDate = Date.now();
      say(`Stopping run ${runId}: no further step starts; the step under way finishes, then maintenance mode off and the lock released`);
      stopped.stop(() => execution.abort());
    };
    stopForDenial = (cause) => {
      stopCause ??= cause;
      stop();
    };
    if (opts.signal?.aborted) stop();
    opts.signal?.addEventListener('abort', stop, { once: true });
    cleanups.push(async () => opts.signal?.removeEventListener('abort', stop));
    const mapChildren = local.mapChildrenCheck(parts.definition);
    const counter = new ExecutionCounter(parts.definition);
    const printer = new ProgressPrinter(say, started);
    const timer = new StepTimer();
    const consume = (async () => {
      for await (const event of execution.events) {
        if (stopped.aborted) break;
        counter.add(event);
        timer.add(event);
        printer.handle(event);
        // Its children's StartExecution is judged against the role; a denial stops the run through onDenied.
        mapChildren(event);
      }
    })();
    const result = await execution.result;
    // A stop that comes after the execution ended stops nothing.
    opts.signal?.removeEventListener('abort', stop);
    await consume;
    const outcome = stopped.aborted ? { status: 'ABORTED' as const } : result;
    // A timeout or a limit ends the execution at once: tasks still waiting (for a token) are let go.
    if (!stopped.aborted && outcome.status !== 'SUCCEEDED') stopped.stop(() => undefined);
    counter.finish(outcome.status);
    await ssm.idle();
    // The execution's status change goes on the bus: the stack's stop rule hands ABORTED, TIMED_OUT and
    // FAILED to run-stopped (after a run's own failure path that changes nothing), and nothing else.
    const reason = stopCause ?? opts.signal?.reason;
    await bus.put(executionEndedEvent({
      status: outcome.status,
      executionArn: localArns().execution(runId),
      stateMachineArn: localArns().stateMachine,
      name: runId,
      startDate: started,
      stopDate: stopped.aborted ? stopDate : Date.now(),
      input: JSON.stringify(input),
      ...(outcome.status === 'ABORTED'
        ? { error: stopCause === undefined ? 'StoppedByOperator' : 'AccessDeniedException', cause: typeof reason === 'string' ? reason : 'the rehearsal was interrupted' }
        : outcome.status === 'SUCCEEDED' ? { output: JSON.stringify(outcome.output ?? null) } : { error: outcome.error, cause: outcome.cause }),
    }));
    await bus.idle();
    await cleanupMachine.idle();
    await ssm.idle();

    const store = new FleetStore(documentClient(), TABLE_NAME);
    const run = await store.getRun(input.cluster, runId);
    const fromOutput = outcome.status === 'SUCCEEDED' ? (outcome.output as Summary) : undefined;
    const summary = run?.summary ?? fromOutput;
    if (summary === undefined) {
      throw new Error(`the run ended ${outcome.status} without a summary${outcome.status === 'FAILED' ? `: ${outcome.error}: ${outcome.cause}` : ''}`);
    }
    return {
      summary: {
        ...summary,
        execution: {
          name: runId,
          status: outcome.status,
          events: counter.events,
          childEvents: counter.childEvents,
          childExecutions: counter.childExecutions,
          stateTransitions: counter.stateTransitions,
          maxPayloadBytes: counter.maxPayloadBytes,
          maxMapResultBytes: counter.maxMapResultBytes,
          durationMs: Date.now() - started,
          iam: { checked: iam.checked, denied: iam.denials.length },
        },
      },
      nodeRoots,
      tableName: TABLE_NAME,
      proxied: proxy ? [...proxy.forwarded] : [],
      notifications: [...topic.published],
      invocations,
      steps: stepsWithScriptTimes(timer.timings, ssm.invocations),
    };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        process.stderr.write(`rehearsal cleanup: ${String(error)}\n`);
      }
    }
  }
}

/** Each step's timing with how long its script ran: the node's last command of that step (one pass, for thousands of nodes). */
function stepsWithScriptTimes(timings: StepTiming[], invocations: LocalSsm['invocations']): RehearsalResult['steps'] {
  const last = new Map<string, number>();
  for (const i of invocations) last.set(`${i.instanceId}|${i.step}`, i.scriptMs);
  return timings.map((t) => ({ ...t, scriptMs: last.get(`${t.nodeId}|${t.step}`) ?? 0 }));
}

async function ensureDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}
