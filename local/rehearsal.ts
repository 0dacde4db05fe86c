import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputValidationError } from '../core/errors.js';
import { refuseDowngrade } from '../core/plan.js';
import type { Summary } from '../core/summary.js';
import { startLocalProxy } from './https-proxy.js';
import { FleetStore } from '../adapters/store.js';
import { documentClient, resetClients } from '../adapters/aws-clients.js';
import type { IamDenial } from './iam/enforce.js';
import { localIam } from './iam/local-iam.js';
import { handler as approvalPageHandler } from '../lambdas/approval-page/index.js';
import { resetApprovalKey } from '../adapters/approval-links.js';
import { clusterInstances, startLocalTagging } from './tagging-endpoint.js';
import { randomBytes } from 'node:crypto';
import { logger } from '../adapters/logger.js';
import { startLocalDynamoDb } from './dynamodb/start.js';
import { createTable } from './dynamodb/table.js';
import { startLocalSsm, type LocalSsm } from './ssm-endpoint.js';
import { LocalTaskTokens } from './task-tokens.js';
import { localStackParts, readTemplateFile, synthesizeTemplate } from './template.js';
import { LOCAL_STATE_MACHINE_NAME, MapFence, StopSwitch, executionEndedEvent, localArns, startExecution, taskOverrides } from './state-machine-runner.js';
import { unresponsiveAfterSeconds } from '../adapters/command-completion.js';
import { capStepTimeouts } from './definition-adjustments.js';
import { startPackageRepo } from './package-repo.js';
import { withPackageKey } from '../lib/runbook-document.js';
import { packageKeyDer } from '../lib/package-key.js';
import { createSandbox, startService, stopService } from './sandbox.js';
import { ExecutionCounter } from './execution-counter.js';
import { LocalCleanupMachine } from './cleanup-machine.js';
import { ProgressPrinter } from './progress.js';
import { StepTimer, type StepTiming } from './step-timings.js';
import type { RehearsalOptions, RehearsalResult } from './rehearsal-options.js';
import { rehearsalHandlers } from './rehearsal-handlers.js';
import { LocalSchedules } from './schedules.js';
import { startLocalCloudWatch } from './cloudwatch-endpoint.js';
import { DOCUMENT_NAME, TABLE_NAME, checkRunbookName, cleanWorkdir, defaultRunId, describeRun, rehearsalInput, rehearsalProxyPort } from './rehearsal-setup.js';
import { SIGN_IN_ENV, startLocalOperator } from './scripted-operator.js';
import { REHEARSAL_APPROVERS } from './identity-provider.js';
import { LocalEventBus } from './eventbridge.js';
import { startScriptedPause } from './scripted-pause.js';

export type { LambdaFault, RehearsalOptions, RehearsalResult } from './rehearsal-options.js';
export { DOCUMENT_NAME, TABLE_NAME, cleanWorkdir } from './rehearsal-setup.js';

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
  const inRun = opts.cluster.nodes.filter((n) => checkedInput.only?.includes(n.id) ?? true);
  if (opts.resumeFrom === undefined) refuseDowngrade(checkedInput.targetVersion, new Map(inRun.map((n) => [n.id, n.version])), checkedInput.force);
  if (opts.pauseAfter !== undefined && !opts.cluster.nodes.some((n) => n.id === opts.pauseAfter)) {
    throw new InputValidationError(`pauseAfter: expected the id of a node of the cluster, got ${JSON.stringify(opts.pauseAfter)}`, 'pauseAfter');
  }
  for (const alarm of opts.alarms ?? []) {
    if (!opts.cluster.nodes.some((n) => n.id === alarm.afterNode))
      throw new InputValidationError(`alarms: ${alarm.name}:after=${alarm.afterNode}: expected the id of a node of the cluster`, 'alarms');
  }
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
    const impostor = (opts.failures ?? []).some((f) => f.kind === 'signature');
    const repo = await startPackageRepo({
      dir: packageDir,
      versions,
      onlyThroughProxy: proxy !== undefined,
      impostor,
      ...(opts.corruptPackage ? { corrupt: [input.targetVersion] } : {}),
    });
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
    // A resumed rehearsal's nodes kept running in the world it rehearses: their services come back as they were left.
    if (opts.resumeFrom !== undefined && opts.bareSandboxes !== true) await Promise.all([...nodeRoots.values()].map((root) => startService(root)));
    if (!opts.keepServices)
      cleanups.push(async () => {
        await Promise.all([...nodeRoots.values()].map((root) => stopService(root)));
      });

    // In the workdir: a stopped rehearsal resumes on the table it left (--resume-from with the same --workdir).
    const dynamodb = opts.dynamodb ?? (await startLocalDynamoDb({ dir: join(workdir, 'dynamodb') }));
    if (opts.dynamodb === undefined) cleanups.push(() => dynamodb.stop());

    // Synthesized once per process for a built-in runbook (local/template.ts); a runbookPath every time.
    if (givenTemplate === undefined) say(`Synthesizing the stack (what \`cdk synth\` deploys) with the ${opts.runbookPath ?? runbook} runbook`);
    const template =
      givenTemplate ??
      synthesizeTemplate(
        { runbook, ...(opts.runbookPath !== undefined ? { runbookPath: resolve(opts.runbookPath) } : {}) },
        await ensureDir(join(workdir, 'cdk')),
      );
    const parts = localStackParts(template, ({ table, document }) => ({ [table]: TABLE_NAME, [document]: DOCUMENT_NAME }));
    // The nodes check packages against the key this rehearsal's repository signs with (a given template pins the real one).
    parts.document = withPackageKey(parts.document, packageKeyDer(repo.publicKey));
    // IAM as AWS enforces it: each call a function (or the state machine) makes is judged against its role
    // in this template before it is served; the first denial stops the run, naming function and action.
    let stopForDenial: (cause: string) => void = () => undefined;
    const saidDenials = new Set<string>();
    const tokens = new LocalTaskTokens();
    const local = localIam(template, parts, {
      tableName: TABLE_NAME,
      documentName: DOCUMENT_NAME,
      stateMachineName: LOCAL_STATE_MACHINE_NAME,
      clusterTag: input.cluster,
      tokens,
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
    if (opts.stepTimeoutSeconds !== undefined)
      parts.definition = capStepTimeouts(parts.definition, opts.stepTimeoutSeconds, (cap) => unresponsiveAfterSeconds(cap) + 1, opts.cappedSteps);
    await createTable(dynamodb.endpoint, parts.table.properties, TABLE_NAME);

    const invocations: Record<string, number> = {};
    // run-stopped starts the cleanup state machine through this endpoint, as it would in AWS.
    const cleanupMachine = new LocalCleanupMachine((name, outcome) => {
      if (outcome.status !== 'SUCCEEDED') say(`cleanup of ${name} ended ${outcome.status}: ${outcome.error}: ${outcome.cause}`);
    });
    const sfnEndpoint = await tokens.start({
      StartExecution: (r) => cleanupMachine.start(r),
      // run-stopped reads a large input the status-change event left out.
      DescribeExecution: describeRun(runId, input),
    });
    cleanups.push(() => tokens.close());

    // The approval page (the same handler as in AWS), its sign-in, and the operator who answers as --decision says.
    const operator = await startLocalOperator({
      handler: asFunction('approval-page', approvalPageHandler),
      decisions: opts.decisions ?? [],
      signIn: opts.signIn === false ? null : { approvers: opts.approvers ?? REHEARSAL_APPROVERS, as: opts.decideAs ?? [] },
      store: () => new FleetStore(documentClient(), TABLE_NAME),
      say,
    });
    cleanups.push(() => operator.close());
    const topic = operator.topic;

    // The real handlers, each held to its function's Timeout from the template, as Lambda holds it.
    const { handlers, scheduled } = rehearsalHandlers(parts, asFunction, opts.lambdaFaults ?? [], invocations);
    // Status changes (SSM commands, this execution) reach a function only through a rule of the template.
    const bus = new LocalEventBus(parts.rules, handlers);
    cleanupMachine.attach({ parts, handlers, tokens, iam: local });

    const ssm = await startLocalSsm({
      documentName: DOCUMENT_NAME,
      document: parts.document as never,
      nodeRoots,
      workdir,
      failures: opts.failures ?? [],
      ...(repo.impostorUrl !== undefined ? { impostorArtifactBaseUrl: repo.impostorUrl } : {}),
      onStatusChange: (event) => bus.put(event),
      env: { ...opts.nodeEnv, PATH: [...(opts.nodePath ?? []), process.env.PATH ?? '/usr/bin:/bin'].join(':'), LANG: 'C.UTF-8' },
    });
    cleanups.push(async () => {
      await ssm.idle();
      await ssm.close();
    });

    // tag:GetResources answers from the sandbox cluster (discovery, and the plan's check of listed nodes).
    const tagging = await startLocalTagging(clusterInstances(input.cluster, opts.cluster.nodes));
    cleanups.push(() => tagging.close());

    // DescribeAlarms answers for the run's health alarms, with the scripted ones going off (--alarm NAME:after=NODE).
    const cloudwatch = await startLocalCloudWatch({ alarms: input.healthAlarms ?? [], scripted: opts.alarms ?? [], runId, tableName: TABLE_NAME });
    cleanups.push(() => cloudwatch.close());

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
      AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: tagging.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudwatch.endpoint,
      APPROVAL_KEY: randomBytes(32).toString('hex'),
      STEP_TIMEOUT_CAP_SECONDS: opts.stepTimeoutSeconds === undefined ? '' : String(opts.stepTimeoutSeconds),
      STEP_TIMEOUT_CAP_STEPS: (opts.cappedSteps ?? []).join(','),
      // run-stopped (a stopped rehearsal) polls the node's rollback and maintenance-off this often.
      RUN_STOPPED_POLL_MS: '200',
      POWERTOOLS_LOG_LEVEL: process.env.FLEET_UPGRADE_LAMBDA_LOG_LEVEL ?? 'SILENT',
      AWS_LAMBDA_LOG_LEVEL: process.env.FLEET_UPGRADE_LAMBDA_LOG_LEVEL ?? 'SILENT',
    });
    // After the synthesized environment (whose APPROVAL_URL is the API Gateway endpoint's token, and whose
    // sign-in, if synthesized with one, is a real provider's).
    for (const name of SIGN_IN_ENV) delete process.env[name];
    Object.assign(process.env, operator.env);
    if (local.topicArn !== undefined) process.env.TOPIC_ARN = local.topicArn;
    // Clients built from now on see this environment, and carry the IAM check.
    resetClients();
    resetApprovalKey();
    // The logger may have been built before this environment was set: apply the level explicitly.
    logger.setLogLevel((process.env.FLEET_UPGRADE_LAMBDA_LOG_LEVEL ?? 'SILENT') as Parameters<typeof logger.setLogLevel>[0]);
    // The template's schedule rules (the approval reminders) run from now on, until the rehearsal ends.
    const schedules = new LocalSchedules(parts.rules, scheduled, (rule, target, error) => say(`schedule ${rule}: ${target} failed: ${String(error)}`)).start();
    cleanups.push(() => schedules.stop());
    say(`Run ${runId}: ${input.cluster} → ${input.targetVersion}`);
    const started = Date.now();
    const fence = new MapFence(parts.definition);
    const stopped = new StopSwitch();
    const execution = startExecution({
      definition: parts.definition,
      overrides: stopped.tasks(
        taskOverrides(parts.definition, handlers, tokens, fence, {
          stateMachineArn: local.stateMachineArn,
          authorizeInvoke: (functionArn) => local.asStateMachine('lambda:InvokeFunction', functionArn),
        }),
      ),
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
    // The operator's pause and resume, scripted (--pause-after, --resume-after), with the CLI's own calls.
    if (opts.pauseAfter !== undefined) {
      const settings = { pauseLimitSeconds: Math.round(input.pauseLimitMinutes * 60), canary: input.canary ?? 0 };
      cleanups.push(
        startScriptedPause(
          { afterNode: opts.pauseAfter, ...(opts.resumeAfterSeconds !== undefined ? { resumeAfterSeconds: opts.resumeAfterSeconds } : {}) },
          { runId, tableName: TABLE_NAME, settings, say },
        ),
      );
    }
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
    await bus.put(
      executionEndedEvent({
        status: outcome.status,
        executionArn: localArns().execution(runId),
        stateMachineArn: localArns().stateMachine,
        name: runId,
        startDate: started,
        stopDate: stopped.aborted ? stopDate : Date.now(),
        input: JSON.stringify(input),
        ...(outcome.status === 'ABORTED'
          ? {
              error: stopCause === undefined ? 'StoppedByOperator' : 'AccessDeniedException',
              cause: typeof reason === 'string' ? reason : 'the rehearsal was interrupted',
            }
          : outcome.status === 'SUCCEEDED'
            ? { output: JSON.stringify(outcome.output ?? null) }
            : { error: outcome.error, cause: outcome.cause }),
      }),
    );
    await bus.idle();
    await cleanupMachine.idle();
    await ssm.idle();

    const store = new FleetStore(documentClient(), TABLE_NAME);
    const fromOutput = outcome.status === 'SUCCEEDED' ? (outcome.output as Summary) : undefined;
    const summary = (await store.getRunRecord(input.cluster, runId))?.summary ?? fromOutput;
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
