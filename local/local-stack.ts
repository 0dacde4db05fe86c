import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { withPackageKey } from '../lib/runbook-document.js';
import { packageKeyDer } from '../lib/package-key.js';
import type { StepId } from '../core/steps.js';
import { unresponsiveAfterSeconds } from '../core/steps.js';
import { sandboxKind, sandboxPath } from './als-node/node-path.js';
import type { ClusterFile } from './cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from './dynamodb/start.js';
import { createTable } from './dynamodb/table.js';
import { startLocalNodes } from './local-stack-nodes.js';
import { startApprovals, type LocalApprovals } from './local-stack-approvals.js';
import { configureHandlers } from './local-stack-environment.js';
import { stackHandlers, type LambdaFault } from './local-stack-handlers.js';
import { startLocalSsm, type InjectedFailure, type LocalSsm } from './ssm-endpoint.js';
import { LOCAL_STATE_MACHINE_NAME, type LocalHandler } from './state-machine-runner.js';
import { LocalTaskTokens } from './task-tokens.js';
import type { JsonOperation } from './json-protocol.js';
import { LocalEventBus } from './eventbridge.js';
import { localStackParts, synthesizeTemplate, type CfnTemplate, type LocalStackParts } from './template.js';
import { capStepTimeouts } from './definition-adjustments.js';
import type { IamDenial } from './iam/enforce.js';
import { localIam, type LocalIam } from './iam/local-iam.js';
import { LocalCleanupMachine } from './cleanup-machine.js';
import { clusterInstances, startLocalTagging } from './tagging-endpoint.js';
import type { LocalSns } from './sns-endpoint.js';
import { LocalSchedules } from './schedules.js';
import { startLocalCloudWatch, type ScriptedAlarm } from './cloudwatch-endpoint.js';

export { cleanWorkdir } from './local-stack-nodes.js';
export type { LocalApprovals } from './local-stack-approvals.js';

/** The table and SSM document names the local stack gives the template's resources. */
export const TABLE_NAME = 'fleet-upgrade-rehearsal';
export const DOCUMENT_NAME = 'fleet-upgrade-runbook';

/** How a local stack differs from another: the rehearsal's, `local serve`'s and the benchmarks' are all built from these. */
export interface LocalStackOptions {
  /** The sandbox nodes, under the cluster tag that discovery and IAM see them by. */
  cluster: ClusterFile;
  /** Absolute: sandboxes, packages, command output, the synthesized app. Emptied first, unless `resume`. */
  workdir: string;
  /** Keep the sandboxes an earlier run left in `workdir` instead of new ones. @default false */
  resume?: boolean;
  /** Versions the package repository serves besides the nodes' own. */
  versions: string[];
  /** What must be undone is pushed here, in order; the caller runs them in reverse, also after a failure here. */
  cleanups: (() => Promise<void>)[];
  /** Progress: what is being prepared, where approvers sign in. @default none */
  progress?: (line: string) => void;
  /** Problems the stack goes on after (an IAM denial, a failed schedule or cleanup); each is said once. */
  report: (line: string) => void;
  /** `bare`: a sandbox holds only `VERSION` and runs no service (the benchmarks' timed runbook). @default 'full' */
  sandboxes?: 'full' | 'bare';
  /** Leave the sandbox services running after the cleanups (a test inspects them). @default false */
  keepServices?: boolean;
  /** The repository answers only requests that came through the caller's loopback proxy. @default false */
  packagesOnlyThroughProxy?: boolean;
  /** Versions whose package bytes do not match SHA256SUMS. @default none */
  corruptVersions?: string[];
  /** Steps made to fail on nodes, and packages signed by another key. @default none */
  failures?: InjectedFailure[];
  /** Extra environment of the nodes' agent (the benchmarks' FU_BENCH_SCALE). @default none */
  nodeEnv?: Record<string, string>;
  /** Directories put first on the nodes' PATH (a test's own tools); the kato runbook's simulated ALS `kato` comes after them. @default none */
  nodePath?: string[];
  /** The runbook the nodes run: `kato` makes each sandbox a simulated ALS node. @default the template's runbook, else release-dir */
  nodesRunbook?: string;
  /**
   * A DynamoDB the caller owns (left running), or one started here: `in-workdir` keeps its tables in
   * `<workdir>/dynamodb`, so a stopped rehearsal resumes on them. @default 'in-memory'
   */
  dynamodb?: LocalDynamoDb | 'in-memory' | 'in-workdir';
  /** A template `cdk synth` wrote, run as it is (`given`), or the stack synthesized here with a runbook. */
  template: { given: CfnTemplate } | { runbook: string; runbookPath?: string; approverEmails?: string[] };
  /** Caps the steps' timeouts (all, or `steps`) so that hangs and lost events play out in seconds. @default none */
  stepTimeouts?: { seconds: number; steps?: StepId[] };
  /** Handlers made to throw, as a crashing function would. @default none */
  lambdaFaults?: LambdaFault[];
  /** Called at every IAM denial, once it is reported (a rehearsal stops its run). */
  onDenied?: (denial: IamDenial) => void;
  /**
   * The handlers' Step Functions: a server of the caller's answering with `tokens` (local serve's runtime, which
   * also starts executions), or one the stack serves with the task tokens, the cleanup machine's StartExecution
   * and the caller's DescribeExecution (a rehearsal's one execution).
   */
  stepFunctions: { endpoint: string; tokens: LocalTaskTokens } | { describeExecution: JsonOperation };
  approvals: LocalApprovals;
  /** CloudWatch's DescribeAlarms for one run's health alarms, the scripted ones going off. @default no CloudWatch served */
  alarms?: { names: readonly string[]; scripted: readonly ScriptedAlarm[]; runId: string };
}

/** What executions run on: sandbox nodes, the local DynamoDB, the local SSM endpoint, the real handlers. */
export interface LocalStack {
  nodeRoots: Map<string, string>;
  parts: LocalStackParts;
  tokens: LocalTaskTokens;
  ssm: LocalSsm;
  /** By function logical id, as the state machine and the rules invoke them (counted, with the faults). */
  handlers: Map<string, LocalHandler>;
  /** Lambda invocations per handler, as AWS would bill them. */
  invocations: Record<string, number>;
  /** The default event bus with the template's rules. */
  bus: LocalEventBus;
  /** IAM from the template: the handlers run as their functions; the state machine's own calls are judged here. */
  iam: LocalIam;
  /** The cleanup state machine run-stopped starts. */
  cleanup: LocalCleanupMachine;
  dynamodb: LocalDynamoDb;
  tableName: string;
  /** The operator topic: what was published, and its email subscriptions. */
  sns: LocalSns;
  /** What `doctor` reads: the template, tag:GetResources over the sandbox cluster, the package repository. */
  template: CfnTemplate;
  taggingEndpoint: string;
  artifactBaseUrl: string;
}

/**
 * Brings up the synthesized stack on this machine: sandboxes and their package repository, the local DynamoDB
 * with the template's table, IAM from the template, the real handlers (configured through the environment as
 * in Lambda), the event bus with the template's rules, local SSM running the template's document, tagging, the
 * operator topic and approval page, and the template's schedules. The one place a local stack is put together.
 */
export async function buildLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const { workdir, cleanups } = opts;
  const progress = opts.progress ?? (() => undefined);
  const said = new Set<string>();
  const report = (line: string) => {
    if (!said.has(line)) opts.report(line);
    said.add(line);
  };

  const nodesRunbook = opts.nodesRunbook ?? ('runbook' in opts.template ? opts.template.runbook : 'release-dir');
  progress(`Preparing ${opts.cluster.nodes.length} ${sandboxKind(nodesRunbook)}, the package repository and the local DynamoDB in ${workdir}`);
  const { nodeRoots, repo } = await startLocalNodes({
    cluster: opts.cluster,
    workdir,
    resume: opts.resume ?? false,
    versions: opts.versions,
    sandboxes: opts.sandboxes ?? 'full',
    keepServices: opts.keepServices ?? false,
    packagesOnlyThroughProxy: opts.packagesOnlyThroughProxy ?? false,
    corruptVersions: opts.corruptVersions ?? [],
    failures: opts.failures ?? [],
    cleanups,
  });
  const dynamodb =
    typeof opts.dynamodb === 'object' ? opts.dynamodb : await startLocalDynamoDb(opts.dynamodb === 'in-workdir' ? { dir: join(workdir, 'dynamodb') } : {});
  if (typeof opts.dynamodb !== 'object') cleanups.push(() => dynamodb.stop());

  const template = await stackTemplate(opts.template, workdir, progress);
  const parts = localStackParts(template, ({ table, document }) => ({ [table]: TABLE_NAME, [document]: DOCUMENT_NAME }));
  // The nodes check packages against the key this repository signs with (a given template pins the real one).
  parts.document = withPackageKey(parts.document, packageKeyDer(repo.publicKey));
  if (opts.stepTimeouts !== undefined) {
    const { seconds, steps } = opts.stepTimeouts;
    parts.definition = capStepTimeouts(parts.definition, seconds, (cap) => unresponsiveAfterSeconds(cap) + 1, steps);
  }
  await createTable(dynamodb.endpoint, parts.table.properties, TABLE_NAME);

  // IAM as AWS enforces it: each call a function (or the state machine) makes is judged against its role in the
  // template before it is served; a denied call fails with AccessDeniedException, and the run takes AWS's path.
  const tokens = 'tokens' in opts.stepFunctions ? opts.stepFunctions.tokens : new LocalTaskTokens();
  const iam = localIam(template, parts, {
    tableName: TABLE_NAME,
    documentName: DOCUMENT_NAME,
    stateMachineName: LOCAL_STATE_MACHINE_NAME,
    clusterTag: opts.cluster.cluster,
    tokens,
    onDenied: (d) => {
      report(`IAM: AccessDeniedException — ${d.principal} (${d.logicalId}) may not ${d.action} on ${d.resource}: ${d.reason}`);
      opts.onDenied?.(d);
    },
  });
  cleanups.push(async () => iam.uninstall());

  // run-stopped starts the cleanup state machine through the Step Functions endpoint, as it would in AWS.
  const cleanup = new LocalCleanupMachine((name, outcome) => {
    if (outcome.status !== 'SUCCEEDED') report(`cleanup of ${name} ended ${outcome.status}: ${outcome.error}: ${outcome.cause}`);
  });
  let sfnEndpoint: string;
  if ('endpoint' in opts.stepFunctions) sfnEndpoint = opts.stepFunctions.endpoint;
  else {
    sfnEndpoint = await tokens.start({ StartExecution: (r) => cleanup.start(r), DescribeExecution: opts.stepFunctions.describeExecution });
    cleanups.push(() => tokens.close());
  }

  const approvals = await startApprovals(opts.approvals, { template, iam, tableName: TABLE_NAME, progress, cleanups });

  // The real handlers, each run as its function and held to its Timeout from the template, as Lambda holds it.
  const invocations: Record<string, number> = {};
  const { handlers, scheduled } = stackHandlers(parts, iam.asFunction, opts.lambdaFaults ?? [], invocations);
  // Status changes (SSM commands, executions) reach a function only through a rule of the template.
  const bus = new LocalEventBus(parts.rules, handlers);
  cleanup.attach({ parts, handlers, tokens, iam });

  const ssm = await startLocalSsm({
    documentName: DOCUMENT_NAME,
    document: parts.document as never,
    nodeRoots,
    workdir,
    failures: opts.failures ?? [],
    ...(repo.impostorUrl !== undefined ? { impostorArtifactBaseUrl: repo.impostorUrl } : {}),
    onStatusChange: (event) => bus.put(event),
    env: { ...opts.nodeEnv, PATH: sandboxPath(nodesRunbook, opts.nodePath), LANG: 'C.UTF-8' },
  });
  cleanups.push(async () => {
    await ssm.idle();
    await ssm.close();
  });

  // tag:GetResources answers from the sandbox cluster (discovery, and the plan's check of listed nodes).
  const tagging = await startLocalTagging(clusterInstances(opts.cluster.cluster, opts.cluster.nodes));
  cleanups.push(() => tagging.close());

  // DescribeAlarms answers for the run's health alarms, the scripted ones going off once their node is upgraded.
  let cloudwatchEndpoint: string | undefined;
  if (opts.alarms !== undefined) {
    const cloudwatch = await startLocalCloudWatch({
      alarms: opts.alarms.names,
      scripted: opts.alarms.scripted,
      runId: opts.alarms.runId,
      tableName: TABLE_NAME,
    });
    cleanups.push(() => cloudwatch.close());
    cloudwatchEndpoint = cloudwatch.endpoint;
  }

  configureHandlers({
    environment: parts.environment,
    tableName: TABLE_NAME,
    documentName: DOCUMENT_NAME,
    artifactBaseUrl: repo.url,
    endpoints: {
      dynamodb: dynamodb.endpoint,
      ssm: ssm.endpoint,
      logs: ssm.logsEndpoint,
      sfn: sfnEndpoint,
      sns: approvals.topic.endpoint,
      tagging: tagging.endpoint,
      ...(cloudwatchEndpoint !== undefined ? { cloudwatch: cloudwatchEndpoint } : {}),
    },
    approvalEnv: approvals.env,
    topicArn: iam.topicArn,
    stepTimeouts: opts.stepTimeouts,
  });
  // The template's schedule rules (the approval reminders) run from now on, with the environment above; their
  // invocations come from the clock, not from a run, so they are neither counted nor faulted.
  const schedules = new LocalSchedules(parts.rules, scheduled, (rule, target, error) => report(`schedule ${rule}: ${target} failed: ${String(error)}`)).start();
  cleanups.push(() => schedules.stop());
  return {
    nodeRoots,
    parts,
    tokens,
    ssm,
    handlers,
    invocations,
    bus,
    iam,
    cleanup,
    dynamodb,
    tableName: TABLE_NAME,
    sns: approvals.topic,
    template,
    taggingEndpoint: tagging.endpoint,
    artifactBaseUrl: repo.url,
  };
}

/** The given template, or the stack synthesized (once per process for a built-in runbook: local/template.ts). */
async function stackTemplate(source: LocalStackOptions['template'], workdir: string, progress: (line: string) => void): Promise<CfnTemplate> {
  if ('given' in source) return source.given;
  progress(`Synthesizing the stack (what \`cdk synth\` deploys) with the ${source.runbookPath ?? source.runbook} runbook, unless .tmp/template-cache has it`);
  const outdir = join(workdir, 'cdk');
  await mkdir(outdir, { recursive: true });
  return await synthesizeTemplate(
    {
      runbook: source.runbook,
      ...(source.runbookPath !== undefined ? { runbookPath: resolve(source.runbookPath) } : {}),
      ...(source.approverEmails ? { approverEmails: source.approverEmails } : {}),
    },
    outdir,
  );
}

/**
 * `local serve`'s stack: the stack synthesized with the release-dir runbook (or `runbook`), the table in memory,
 * Step Functions and the approval page served by the caller on `sfnEndpoint`, and people deciding.
 */
export async function prepareLocalStack(opts: {
  cluster: ClusterFile;
  /** Versions the package repository serves besides the nodes' own. */
  versions: string[];
  /** Absolute; emptied first. */
  workdir: string;
  cleanups: (() => Promise<void>)[];
  tokens: LocalTaskTokens;
  sfnEndpoint: string;
  runbook?: string;
  failures?: InjectedFailure[];
  dynamodb?: LocalDynamoDb;
  /** Subscribed to the operator topic, as `-c approverEmails=` does. @default none */
  approverEmails?: string[];
}): Promise<LocalStack> {
  return buildLocalStack({
    cluster: opts.cluster,
    workdir: opts.workdir,
    versions: opts.versions,
    cleanups: opts.cleanups,
    report: (line) => process.stderr.write(`${line}\n`),
    ...(opts.failures ? { failures: opts.failures } : {}),
    dynamodb: opts.dynamodb ?? 'in-memory',
    template: { runbook: opts.runbook ?? 'release-dir', ...(opts.approverEmails ? { approverEmails: opts.approverEmails } : {}) },
    stepFunctions: { endpoint: opts.sfnEndpoint, tokens: opts.tokens },
    // The approval page is served on the runtime's own port (the template's URL is API Gateway's).
    approvals: { pageUrl: `${opts.sfnEndpoint}/approval` },
  });
}
