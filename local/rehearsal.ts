import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputValidationError } from '../core/errors.js';
import { refuseDowngrade } from '../core/plan.js';
import type { Summary } from '../core/summary.js';
import { FleetStore } from '../adapters/store.js';
import { documentClient } from '../adapters/aws-clients.js';
import { startLocalProxy } from './https-proxy.js';
import type { LocalSsm } from './ssm-endpoint.js';
import { readTemplateFile } from './template.js';
import { MapFence, StopSwitch, executionEndedEvent, localArns, startExecution, taskOverrides } from './state-machine-runner.js';
import { ExecutionCounter } from './execution-counter.js';
import { ProgressPrinter } from './progress.js';
import { StepTimer, type StepTiming } from './step-timings.js';
import type { RehearsalOptions, RehearsalResult } from './rehearsal-options.js';
import { checkRunbookName, defaultRunId, describeRun, rehearsalInput, rehearsalProxyPort } from './rehearsal-setup.js';
import { TABLE_NAME, buildLocalStack } from './local-stack.js';
import { REHEARSAL_APPROVERS } from './identity-provider.js';
import { startScriptedPause } from './scripted-pause.js';

export type { LambdaFault, RehearsalOptions, RehearsalResult } from './rehearsal-options.js';
export { DOCUMENT_NAME, TABLE_NAME, cleanWorkdir } from './local-stack.js';

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
  if (opts.resumeFrom !== undefined && !existsSync(join(workdir, 'nodes'))) {
    throw new InputValidationError(`resumeFrom: ${workdir} holds no sandboxes of an earlier rehearsal to resume`, 'resumeFrom');
  }

  const cleanups: (() => Promise<void>)[] = [];
  try {
    const proxy = opts.httpsProxy === undefined ? undefined : await startLocalProxy(rehearsalProxyPort(opts.httpsProxy));
    if (proxy) {
      cleanups.push(() => proxy.close());
      say(`Packages are served only through the proxy at ${proxy.url} (HTTPS_PROXY on the nodes)`);
    }
    const input = proxy ? { ...checkedInput, httpsProxy: proxy.url } : checkedInput;
    // The first denial stops the run, naming function and action.
    let stopForDenial: (cause: string) => void = () => undefined;
    const stack = await buildLocalStack({
      cluster: opts.cluster,
      workdir,
      resume: opts.resumeFrom !== undefined,
      versions: [input.targetVersion],
      cleanups,
      progress: say,
      report: say,
      sandboxes: opts.bareSandboxes === true ? 'bare' : 'full',
      keepServices: opts.keepServices === true,
      packagesOnlyThroughProxy: proxy !== undefined,
      corruptVersions: opts.corruptPackage ? [input.targetVersion] : [],
      failures: opts.failures ?? [],
      ...(opts.nodeEnv ? { nodeEnv: opts.nodeEnv } : {}),
      ...(opts.nodePath ? { nodePath: opts.nodePath } : {}),
      nodesRunbook: runbook,
      // In the workdir: a stopped rehearsal resumes on the table it left (--resume-from with the same --workdir).
      dynamodb: opts.dynamodb ?? 'in-workdir',
      template: givenTemplate ? { given: givenTemplate } : { runbook, ...(opts.runbookPath !== undefined ? { runbookPath: opts.runbookPath } : {}) },
      ...(opts.stepTimeoutSeconds !== undefined
        ? { stepTimeouts: { seconds: opts.stepTimeoutSeconds, ...(opts.cappedSteps ? { steps: opts.cappedSteps } : {}) } }
        : {}),
      lambdaFaults: opts.lambdaFaults ?? [],
      onDenied: (d) => stopForDenial(`AccessDeniedException: ${d.principal} may not ${d.action} on ${d.resource}`),
      // run-stopped reads a large input the status-change event left out.
      stepFunctions: { describeExecution: describeRun(runId, input) },
      // The approval page (the same handler as in AWS), its sign-in, and the operator who answers as --decision says.
      approvals: {
        scripted: {
          decisions: opts.decisions ?? [],
          signIn: opts.signIn === false ? null : { approvers: opts.approvers ?? REHEARSAL_APPROVERS, as: opts.decideAs ?? [] },
        },
      },
      alarms: { names: input.healthAlarms ?? [], scripted: opts.alarms ?? [], runId },
    });
    const { parts, handlers, tokens, iam: local, bus, ssm } = stack;
    const iam = local.enforcer;
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
    await stack.cleanup.idle();
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
      nodeRoots: stack.nodeRoots,
      tableName: TABLE_NAME,
      proxied: proxy ? [...proxy.forwarded] : [],
      notifications: [...stack.sns.published],
      invocations: stack.invocations,
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
