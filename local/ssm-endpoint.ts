import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { AwsJsonError, startJsonProtocolServer } from './json-protocol.js';
import { startNodeAgent } from './node-agent.js';
import { resolveParameters, substitute, type CommandDocument } from './ssm-document.js';
import { startCommandOutputLogs } from './ssm-output-logs.js';

/**
 * GetCommandInvocation's StandardOutputContent is "the first 24,000 characters written by the plugin to
 * stdout", StandardErrorContent the first 8,000 written to stderr.
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html
 */
export const STDOUT_CONTENT_CHARS = 24_000;
export const STDERR_CONTENT_CHARS = 8_000;

/** The EventBridge event SSM emits when a command invocation changes status. */
export interface CommandStatusChange {
  version: '0';
  id: string;
  'detail-type': 'EC2 Command Invocation Status-change Notification';
  source: 'aws.ssm';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: { 'command-id': string; 'document-name': string; 'instance-id': string; 'requested-date-time': string; status: string };
}

interface Invocation {
  commandId: string;
  instanceId: string;
  documentName: string;
  step: string;
  status: 'InProgress' | 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';
  responseCode: number;
  stdout: string;
  stderr: string;
  requestedAt: Date;
  /** SendCommand's Comment, as ListCommands returns it. */
  comment: string;
  /** How long the node's script ran (0 for an injected failure): the rest of a step's time is orchestration. */
  scriptMs: number;
  /** SendCommand's CloudWatchOutputConfig: the log group the agent writes the whole output to. */
  outputLogGroup?: string;
  /** The document step's name (streams are `<command>/<instance>/<step>/stdout|stderr`). */
  pluginName: string;
}

/**
 * What goes wrong with a command (fault injection):
 * - `fail`: the script fails (exit 1) without running;
 * - `hang`: the script never ends; SSM stops it at its execution timeout (TimedOut);
 * - `offline`: the node runs the script, then drops off before it reports: the invocation stays
 *   InProgress and no event comes (the node is back for the next command);
 * - `lost-event`: the command ends normally but its status event never reaches EventBridge;
 * - `duplicate-event`: the status event arrives twice, at once;
 * - `stray-event`: an event for a command this stack never started arrives first;
 * - `signature`: the node's downloads reach an impostor repository (same paths, packages signed by another
 *   key, SHA256SUMS to match), as from a compromised mirror or network: the script runs as sent otherwise.
 */
export type FaultKind = 'fail' | 'hang' | 'offline' | 'lost-event' | 'duplicate-event' | 'stray-event' | 'signature';

/** An injected fault: the named step on the named node goes wrong `times` times (Infinity: always); `kind` defaults to fail. */
export interface InjectedFailure {
  nodeId: string;
  step: string;
  times: number;
  kind?: FaultKind;
}

export interface LocalSsm {
  readonly endpoint: string;
  /** CloudWatch Logs (GetLogEvents, DescribeLogStreams) serving the output of commands sent with CloudWatchOutputConfig. */
  readonly logsEndpoint: string;
  /** Commands started, in order (for tests and progress). */
  readonly invocations: readonly Invocation[];
  /** Resolves when every command started so far has finished. */
  idle(): Promise<void>;
  /** Adds a fault for commands sent from now on. */
  inject(failure: InjectedFailure): void;
  close(): Promise<void>;
}

/** The log group of an enabled CloudWatchOutputConfig, as the invocation keeps it. */
function cloudWatchGroup(config: unknown): { outputLogGroup?: string } {
  const c = config as { CloudWatchOutputEnabled?: unknown; CloudWatchLogGroupName?: unknown } | undefined;
  return c?.CloudWatchOutputEnabled === true && typeof c.CloudWatchLogGroupName === 'string' ? { outputLogGroup: c.CloudWatchLogGroupName } : {};
}

/**
 * A local SSM Run Command endpoint: SendCommand runs the synthesized document's script with `sh`
 * inside the node's sandbox (FLEET_UPGRADE_ROOT), GetCommandInvocation reports it, and every
 * finished command is announced as the same status-change event EventBridge would deliver.
 */
export async function startLocalSsm(opts: {
  documentName: string;
  document: CommandDocument;
  /** Node id → sandbox root directory. */
  nodeRoots: ReadonlyMap<string, string>;
  workdir: string;
  failures?: InjectedFailure[];
  onStatusChange: (event: CommandStatusChange) => Promise<void>;
  /** Environment for the scripts besides FLEET_UPGRADE_ROOT (PATH, locale). */
  env?: NodeJS.ProcessEnv;
  /** The impostor repository a `signature` fault sends the node's downloads to. */
  impostorArtifactBaseUrl?: string;
}): Promise<LocalSsm> {
  const invocations: Invocation[] = [];
  const byCommand = new Map<string, Invocation>();
  const running = new Set<Promise<void>>();
  // The nodes' scripts run in an agent process: forking from the rehearsal's big process blocked its event loop.
  const agent = await startNodeAgent();
  const failures = (opts.failures ?? []).map((f) => ({ ...f }));

  /** Cancels of commands still running, by command id (CancelCommand cuts an injected hang short). */
  const cancels = new Map<string, () => void>();

  const runOnNode = async (inv: Invocation, script: string, timeoutSeconds: number, root: string): Promise<void> => {
    const dir = resolve(opts.workdir, 'ssm', inv.commandId);
    const env = { ...(opts.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' }), FLEET_UPGRADE_ROOT: root };
    const result = await agent.run({ dir, script, cwd: root, timeoutSeconds, env });
    inv.scriptMs = result.scriptMs;
    Object.assign(inv, {
      status: result.timedOut ? 'TimedOut' : result.code === 0 ? 'Success' : 'Failed',
      responseCode: result.timedOut ? -1 : result.code,
      stdout: result.stdout,
      stderr: result.stderr,
    });
  };

  const execute = async (
    inv: Invocation,
    render: (values: Record<string, string>) => string,
    values: Record<string, string>,
    timeoutSeconds: number,
  ): Promise<void> => {
    const script = render(values);
    const root = opts.nodeRoots.get(inv.instanceId) as string;
    const injected = failures.find((f) => f.nodeId === inv.instanceId && f.step === inv.step && f.times > 0);
    if (injected !== undefined) injected.times--;
    const kind = injected === undefined ? undefined : (injected.kind ?? 'fail');
    switch (kind) {
      case 'fail':
        Object.assign(inv, { status: 'Failed', responseCode: 1, stderr: `rehearsal: injected failure of ${inv.step} on ${inv.instanceId}\n` });
        return announce(inv);
      case 'hang': {
        // The script never ends: SSM stops it at the execution timeout (or a CancelCommand does).
        const cancelled = await new Promise<boolean>((done) => {
          const timer = setTimeout(() => done(false), timeoutSeconds * 1000);
          cancels.set(inv.commandId, () => {
            clearTimeout(timer);
            done(true);
          });
        });
        cancels.delete(inv.commandId);
        if (cancelled) return;
        Object.assign(inv, {
          status: 'TimedOut',
          responseCode: -1,
          stderr: `rehearsal: injected hang of ${inv.step} on ${inv.instanceId}; SSM stopped it after its ${timeoutSeconds} s timeout\n`,
        });
        return announce(inv);
      }
      case 'offline': {
        // The node did the work, then dropped off before reporting: SSM never learns how it ended.
        const reported = { ...inv };
        await runOnNode(reported, script, timeoutSeconds, root);
        inv.scriptMs = reported.scriptMs;
        return;
      }
      case 'lost-event':
        await runOnNode(inv, script, timeoutSeconds, root);
        return;
      case 'duplicate-event':
        await runOnNode(inv, script, timeoutSeconds, root);
        await Promise.all([announce(inv), announce(inv)]);
        return;
      case 'signature': {
        if (opts.impostorArtifactBaseUrl === undefined) throw new Error('a signature fault needs impostorArtifactBaseUrl');
        await runOnNode(inv, render({ ...values, artifactBaseUrl: opts.impostorArtifactBaseUrl }), timeoutSeconds, root);
        return announce(inv);
      }
      case 'stray-event':
        await runOnNode(inv, script, timeoutSeconds, root);
        await announce({ ...inv, commandId: randomUUID() });
        return announce(inv);
      case undefined:
        await runOnNode(inv, script, timeoutSeconds, root);
        return announce(inv);
    }
  };

  const announce = async (inv: Invocation): Promise<void> => {
    const event: CommandStatusChange = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'EC2 Command Invocation Status-change Notification',
      source: 'aws.ssm',
      account: '123456789012',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${inv.instanceId}`],
      detail: {
        'command-id': inv.commandId,
        'document-name': inv.documentName,
        'instance-id': inv.instanceId,
        'requested-date-time': inv.requestedAt.toISOString(),
        status: inv.status,
      },
    };
    // Delivery and its retries are EventBridge's and Lambda's (local/eventbridge.ts), not SSM's.
    try {
      await opts.onStatusChange(event);
    } catch (error) {
      process.stderr.write(`local SSM: delivering the status event of ${inv.commandId} failed: ${String(error)}\n`);
    }
  };

  const server = await startJsonProtocolServer({
    targetPrefix: 'AmazonSSM',
    contentType: 'application/x-amz-json-1.1',
    operations: {
      SendCommand: (request) => {
        if (request.DocumentName !== opts.documentName) {
          throw new AwsJsonError('InvalidDocument', `document ${String(request.DocumentName)} does not exist`);
        }
        const ids = request.InstanceIds;
        if (!Array.isArray(ids) || ids.length !== 1) throw new AwsJsonError('InvalidInstanceId', 'exactly one instance id is supported locally');
        const instanceId = String(ids[0]);
        if (!opts.nodeRoots.has(instanceId)) throw new AwsJsonError('InvalidInstanceId', `instance ${instanceId} is not a node of this rehearsal`);
        const values = resolveParameters(opts.document, (request.Parameters ?? {}) as Record<string, unknown>);
        const main = opts.document.mainSteps[0];
        if (main === undefined || main.action !== 'aws:runShellScript') throw new AwsJsonError('InvalidDocument', 'document has no aws:runShellScript step');
        const render = (given: Record<string, string>) => main.inputs.runCommand.map((line) => substitute(line, given)).join('\n') + '\n';
        const timeoutSeconds = Number(substitute(main.inputs.timeoutSeconds ?? '3600', values));
        const inv: Invocation = {
          commandId: randomUUID(),
          instanceId,
          documentName: opts.documentName,
          step: values.step ?? '',
          status: 'InProgress',
          responseCode: -1,
          stdout: '',
          stderr: '',
          requestedAt: new Date(),
          comment: typeof request.Comment === 'string' ? request.Comment : '',
          scriptMs: 0,
          pluginName: main.name ?? 'aws-runShellScript',
          ...cloudWatchGroup(request.CloudWatchOutputConfig),
        };
        invocations.push(inv);
        byCommand.set(inv.commandId, inv);
        // Like SSM, answer at once and run the command afterwards.
        const job = new Promise<void>((resolve) => setImmediate(resolve)).then(() => execute(inv, render, values, timeoutSeconds));
        running.add(job);
        void job.finally(() => running.delete(job));
        return {
          Command: {
            CommandId: inv.commandId,
            DocumentName: opts.documentName,
            InstanceIds: [instanceId],
            Status: 'Pending',
            RequestedDateTime: inv.requestedAt.getTime() / 1000,
          },
        };
      },
      CancelCommand: (request) => {
        const inv = byCommand.get(String(request.CommandId));
        if (inv === undefined) throw new AwsJsonError('InvalidCommandId', 'no such command');
        if (inv.status === 'InProgress') {
          Object.assign(inv, { status: 'Cancelled', responseCode: -1, stderr: `${inv.stderr}cancelled\n` });
          cancels.get(inv.commandId)?.();
          // The status change is announced as any other (a late event the run must ignore).
          void announce(inv);
        }
        return {};
      },
      // The subset a retried run-step uses to find the command its crashed attempt sent: one instance,
      // filtered by InvokedAfter and DocumentName, newest first, as SSM lists them.
      ListCommands: (request) => {
        const filters = Array.isArray(request.Filters) ? (request.Filters as { key?: unknown; value?: unknown }[]) : [];
        const value = (key: string) => filters.find((f) => f.key === key)?.value;
        const after = value('InvokedAfter');
        const document = value('DocumentName');
        const commands = invocations
          .filter((inv) => request.InstanceId === undefined || inv.instanceId === request.InstanceId)
          .filter((inv) => typeof after !== 'string' || inv.requestedAt.getTime() >= Date.parse(after))
          .filter((inv) => typeof document !== 'string' || inv.documentName === document)
          .reverse()
          .map((inv) => ({
            CommandId: inv.commandId,
            DocumentName: inv.documentName,
            Comment: inv.comment,
            InstanceIds: [inv.instanceId],
            RequestedDateTime: inv.requestedAt.getTime() / 1000,
            Status: inv.status === 'InProgress' ? 'InProgress' : inv.status,
          }));
        return { Commands: commands };
      },
      GetCommandInvocation: (request) => {
        const inv = byCommand.get(String(request.CommandId));
        if (inv === undefined || inv.instanceId !== request.InstanceId) throw new AwsJsonError('InvocationDoesNotExist', 'no such command invocation');
        return {
          CommandId: inv.commandId,
          InstanceId: inv.instanceId,
          DocumentName: inv.documentName,
          Status: inv.status,
          StatusDetails: inv.status,
          ResponseCode: inv.responseCode,
          // Only the first characters, as SSM returns them; the rest is in CloudWatch Logs (or S3) only.
          StandardOutputContent: inv.stdout.slice(0, STDOUT_CONTENT_CHARS),
          StandardErrorContent: inv.stderr.slice(0, STDERR_CONTENT_CHARS),
        };
      },
    },
  });

  const logs = await startCommandOutputLogs(invocations);

  return {
    endpoint: server.endpoint,
    logsEndpoint: logs.endpoint,
    invocations,
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    inject(failure) {
      failures.push({ ...failure });
    },
    async close() {
      await server.close();
      await logs.close();
      await agent.close();
    },
  };
}
