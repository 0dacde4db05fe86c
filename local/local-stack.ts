import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { resetClients } from '../adapters/aws-clients.js';
import { logger } from '../adapters/logger.js';
import type { ClusterFile } from './cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from './dynamodb/start.js';
import { LOCAL_HANDLERS } from './handlers.js';
import { startPackageRepo } from './package-repo.js';
import { DOCUMENT_NAME, TABLE_NAME } from './rehearsal.js';
import { createTable } from './dynamodb/table.js';
import { createSandbox, stopService } from './sandbox.js';
import { startLocalSsm, type InjectedFailure, type LocalSsm } from './ssm-endpoint.js';
import { LOCAL_ACCOUNT, LOCAL_STATE_MACHINE_NAME, type LocalHandler } from './state-machine-runner.js';
import { LocalTaskTokens } from './task-tokens.js';
import { DEFAULT_LAMBDA_TIMEOUT_SECONDS, withLambdaTimeout } from './lambda-timeout.js';
import { LocalEventBus } from './eventbridge.js';
import { localStackParts, synthesizeTemplate, type CfnTemplate, type LocalStackParts } from './template.js';
import { localIam, type LocalIam } from './iam/local-iam.js';
import { LocalCleanupMachine } from './cleanup-machine.js';
import { clusterInstances, startLocalTagging } from './tagging-endpoint.js';
import { startLocalSns, type LocalSns } from './sns-endpoint.js';
import { LocalSchedules } from './schedules.js';
import { randomBytes } from 'node:crypto';
import { resetApprovalKey } from '../adapters/approval-links.js';

/** What the local runtime runs executions on: sandbox nodes, the local DynamoDB, the local SSM endpoint, the handlers. */
export interface LocalStack {
  nodeRoots: Map<string, string>;
  parts: LocalStackParts;
  tokens: LocalTaskTokens;
  ssm: LocalSsm;
  handlers: Map<string, LocalHandler>;
  /** The default event bus with the template's rules. */
  bus: LocalEventBus;
  /** IAM from the template: the handlers run as their functions; the state machine's own calls are judged here. */
  iam: LocalIam;
  /** The cleanup state machine run-stopped starts (StartExecution on the caller's SFN endpoint). */
  cleanup: LocalCleanupMachine;
  dynamodb: LocalDynamoDb;
  tableName: string;
  /** The operator topic: notifications are printed; its email subscriptions can be listed and confirmed. */
  sns: LocalSns;
  /** What `doctor` reads: the template, tag:GetResources over the sandbox cluster, the package repository. */
  template: CfnTemplate;
  taggingEndpoint: string;
  artifactBaseUrl: string;
}

/**
 * Brings up the stack `local serve` runs on, from the same pieces as the rehearsal (sandboxes, package
 * repository, the local DynamoDB with the synthesized table, local SSM running the synthesized document, the
 * real handlers configured through the environment as in Lambda). Task tokens are answered by the
 * caller's own SFN endpoint. Pushes what must be undone onto `cleanups`.
 */
export async function prepareLocalStack(opts: {
  cluster: ClusterFile;
  /** Versions the package repository serves besides the nodes' own. */
  versions: string[];
  /** Absolute, already emptied. */
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
  const { workdir, cleanups, tokens } = opts;
  const nodeRoots = new Map(opts.cluster.nodes.map((n) => [n.id, join(workdir, 'nodes', n.id)]));
  const packageDir = join(workdir, 'packages');
  const impostor = (opts.failures ?? []).some((f) => f.kind === 'signature');
  const repo = await startPackageRepo({ dir: packageDir, versions: [...new Set([...opts.cluster.nodes.map((n) => n.version), ...opts.versions])], impostor });
  cleanups.push(() => repo.close());
  await Promise.all(
    opts.cluster.nodes.map((n) =>
      createSandbox({
        root: nodeRoots.get(n.id) as string,
        version: n.version,
        packageDir,
        state: n.state ?? { node: n.id, roles: n.roles, data: `state of ${n.id}` },
      }),
    ),
  );
  cleanups.push(async () => {
    await Promise.all([...nodeRoots.values()].map((root) => stopService(root)));
  });
  const dynamodb = opts.dynamodb ?? (await startLocalDynamoDb());
  if (opts.dynamodb === undefined) cleanups.push(() => dynamodb.stop());

  const cdkDir = join(workdir, 'cdk');
  await mkdir(cdkDir, { recursive: true });
  const template = synthesizeTemplate(
    {
      runbook: opts.runbook ?? 'release-dir',
      packageSigningPublicKey: repo.publicKey,
      ...(opts.approverEmails ? { approverEmails: opts.approverEmails } : {}),
    },
    cdkDir,
  );
  const parts = localStackParts(template, ({ table, document }) => ({ [table]: TABLE_NAME, [document]: DOCUMENT_NAME }));
  await createTable(dynamodb.endpoint, parts.table.properties, TABLE_NAME);

  // IAM as in AWS: each call a function makes is judged against its role in the template; a denied call fails
  // with AccessDeniedException (said once on stderr) and the run takes the path AWS would take.
  const said = new Set<string>();
  const iam = localIam(template, parts, {
    tableName: TABLE_NAME,
    documentName: DOCUMENT_NAME,
    stateMachineName: LOCAL_STATE_MACHINE_NAME,
    clusterTag: opts.cluster.cluster,
    tokens,
    onDenied: (d) => {
      if (!said.has(d.message)) process.stderr.write(`IAM: AccessDeniedException — ${d.message}\n`);
      said.add(d.message);
    },
  });
  cleanups.push(async () => iam.uninstall());

  // The real handlers, run as their functions and each held to its function's Timeout from the template, as Lambda holds it.
  const handlers = new Map<string, LocalHandler>();
  for (const [logicalId, name] of Object.entries(parts.handlers)) {
    const handler = LOCAL_HANDLERS[name];
    if (handler === undefined) throw new Error(`function ${logicalId} names handler ${name}, which the local runtime does not know`);
    handlers.set(logicalId, iam.asFunction(name, withLambdaTimeout(handler, parts.timeouts[logicalId] ?? DEFAULT_LAMBDA_TIMEOUT_SECONDS)));
  }
  // Status changes reach a function only through a rule of the template.
  const bus = new LocalEventBus(parts.rules, handlers);
  const cleanup = new LocalCleanupMachine((name, outcome) => {
    if (outcome.status !== 'SUCCEEDED') process.stderr.write(`local cleanup of ${name} ended ${outcome.status}: ${outcome.error}: ${outcome.cause}\n`);
  });
  cleanup.attach({ parts, handlers, tokens, iam });

  const ssm = await startLocalSsm({
    documentName: DOCUMENT_NAME,
    document: parts.document as never,
    nodeRoots,
    workdir,
    failures: opts.failures ?? [],
    ...(repo.impostorUrl !== undefined ? { impostorArtifactBaseUrl: repo.impostorUrl } : {}),
    onStatusChange: (event) => bus.put(event),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
  });
  cleanups.push(async () => {
    await ssm.idle();
    await ssm.close();
  });

  // tag:GetResources answers from the sandbox cluster (discovery, and the plan's check of listed nodes).
  const tagging = await startLocalTagging(clusterInstances(opts.cluster.cluster, opts.cluster.nodes));
  cleanups.push(() => tagging.close());

  // The operator topic with the template's email subscriptions, pending until confirmed as in SNS.
  const emails = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::SNS::Subscription' && r.Properties?.Protocol === 'email')
    .map((r) => String(r.Properties?.Endpoint));
  const sns = await startLocalSns(
    (message) => process.stdout.write(`notification: ${message.subject}${message.attributes.link ? ` (${message.attributes.link})` : ''}\n`),
    iam.topicArn === undefined ? undefined : { topicArn: iam.topicArn, emails, owner: LOCAL_ACCOUNT },
  );
  cleanups.push(() => sns.close());

  // The handlers read their configuration from the environment, exactly as in Lambda.
  const level = process.env.FLEET_UPGRADE_LAMBDA_LOG_LEVEL ?? 'SILENT';
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
    AWS_ENDPOINT_URL_SFN: opts.sfnEndpoint,
    AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: tagging.endpoint,
    AWS_ENDPOINT_URL_SNS: sns.endpoint,
    // The approval page is served on the runtime's own port (the template's URL is API Gateway's).
    APPROVAL_URL: `${opts.sfnEndpoint}/approval`,
    // Any link is signed with a key of this process (the template's secret exists only in AWS).
    APPROVAL_KEY: randomBytes(32).toString('hex'),
    // run-stopped polls SSM for its own commands; a local command takes milliseconds, not seconds.
    RUN_STOPPED_POLL_MS: '200',
    POWERTOOLS_LOG_LEVEL: level,
    AWS_LAMBDA_LOG_LEVEL: level,
  });
  if (iam.topicArn !== undefined) process.env.TOPIC_ARN = iam.topicArn;
  resetClients();
  resetApprovalKey();
  logger.setLogLevel(level as Parameters<typeof logger.setLogLevel>[0]);
  // The template's schedule rules (the approval reminders), from now on, with the environment above.
  const reported = new Set<string>();
  const schedules = new LocalSchedules(parts.rules, handlers, (rule, target, error) => {
    const message = `local schedule ${rule}: ${target} failed: ${String(error)}`;
    if (!reported.has(message)) process.stderr.write(`${message}\n`);
    reported.add(message);
  }).start();
  cleanups.push(() => schedules.stop());
  return {
    nodeRoots,
    parts,
    tokens,
    ssm,
    handlers,
    bus,
    dynamodb,
    tableName: TABLE_NAME,
    iam,
    cleanup,
    sns,
    template,
    taggingEndpoint: tagging.endpoint,
    artifactBaseUrl: repo.url,
  };
}
