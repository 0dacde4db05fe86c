import { createHash } from 'node:crypto';
import { CancelCommandCommand, GetCommandInvocationCommand, ListCommandsCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { DescribeLogStreamsCommand, GetLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { deliveryTimeoutSeconds } from '../core/steps.js';
import type { CommandInvocation } from '../core/command-status.js';

/** GetCommandInvocation returns at most the first 24,000 characters of stdout and 8,000 of stderr (API reference). */
export const STDOUT_CONTENT_LIMIT = 24_000;
export const STDERR_CONTENT_LIMIT = 8_000;

/** Port: runs one runbook step on one node and reads its result. The AWS and local SSM both satisfy it. */
export interface StepCommandParameters {
  step: string;
  targetVersion: string;
  artifactBaseUrl: string;
  httpsProxy: string;
  runId: string;
  /** Seconds the script may run on the node (the document's execution timeout). */
  executionTimeout: string;
}

/** SSM Run Command edge: sends the stack's document to one instance and reads the invocation back. */
export class SsmCommandRunner {
  constructor(
    private readonly ssm: SSMClient,
    private readonly documentName: string,
    /** Log group the nodes write each command's whole output to (GetCommandInvocation returns only its start). @default none */
    private readonly outputLogGroup?: string,
    /** Reads the end of an output GetCommandInvocation cut off, from `outputLogGroup`. @default none (the start only) */
    private readonly logs?: CloudWatchLogsClient,
  ) {}

  /**
   * Sends one step. The script may run `parameters.executionTimeout` seconds on the node (the document's
   * timeoutSeconds); SendCommand's own TimeoutSeconds only bounds its delivery.
   */
  async send(instanceId: string, parameters: StepCommandParameters): Promise<string> {
    const out = await this.ssm.send(
      new SendCommandCommand({
        DocumentName: this.documentName,
        InstanceIds: [instanceId],
        Parameters: Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, [v]])),
        TimeoutSeconds: deliveryTimeoutSeconds(Number(parameters.executionTimeout)),
        ...(this.outputLogGroup !== undefined
          ? { CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: this.outputLogGroup } }
          : {}),
        // Comment lets an operator find the command in the SSM console, and a retried step find the
        // command its crashed attempt sent (at most 100 characters).
        Comment: commandComment(parameters.runId, parameters.step),
      }),
    );
    const id = out.Command?.CommandId;
    if (id === undefined) throw new Error(`SSM accepted the ${parameters.step} command for ${instanceId} but returned no command id`);
    return id;
  }

  /**
   * The commands of this document sent for this run's step to the instance at or after `since`, newest
   * first: how a retried step learns that its crashed attempt's SendCommand went through before the
   * attempt could record it.
   */
  async findSent(instanceId: string, runId: string, step: string, since: Date): Promise<string[]> {
    const comment = commandComment(runId, step);
    const found: string[] = [];
    let NextToken: string | undefined;
    do {
      const out = await this.ssm.send(
        new ListCommandsCommand({
          InstanceId: instanceId,
          // SSM stamps the command with its own clock: allow a few seconds of difference; the comment decides.
          Filters: [
            { key: 'InvokedAfter', value: new Date(since.getTime() - 5_000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
            { key: 'DocumentName', value: this.documentName },
          ],
          NextToken,
        }),
      );
      for (const c of out.Commands ?? []) if (c.Comment === comment && c.CommandId !== undefined) found.push(c.CommandId);
      // The last page may carry an empty token.
      NextToken = out.NextToken || undefined;
    } while (NextToken !== undefined);
    return found;
  }

  async invocation(commandId: string, instanceId: string): Promise<CommandInvocation> {
    const out = await this.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    return {
      status: out.Status ?? 'Unknown',
      // SSM reports -1 when the script never produced an exit code (timed out, cancelled, agent lost).
      exitCode: out.ResponseCode === undefined || out.ResponseCode < 0 ? null : out.ResponseCode,
      stdout: await this.whole(commandId, instanceId, 'stdout', out.StandardOutputContent ?? '', STDOUT_CONTENT_LIMIT),
      stderr: await this.whole(commandId, instanceId, 'stderr', out.StandardErrorContent ?? '', STDERR_CONTENT_LIMIT),
    };
  }

  /**
   * The end of an output GetCommandInvocation cut at its limit, from the command's log stream: the step's
   * result line and the reason for a failure are at the end. Best effort: without it, the start is kept.
   */
  private async whole(commandId: string, instanceId: string, stream: 'stdout' | 'stderr', content: string, limit: number): Promise<string> {
    if (content.length < limit || this.logs === undefined || this.outputLogGroup === undefined) return content;
    try {
      // Streams are named <command>/<instance>/<step>/stdout|stderr; the step's name is the document's.
      const prefix = `${commandId}/${instanceId}/`;
      const streams = await this.logs.send(new DescribeLogStreamsCommand({ logGroupName: this.outputLogGroup, logStreamNamePrefix: prefix }));
      const name = streams.logStreams?.map((s) => s.logStreamName).find((n): n is string => n !== undefined && n.endsWith(`/${stream}`));
      if (name === undefined) return content;
      const events = await this.logs.send(new GetLogEventsCommand({ logGroupName: this.outputLogGroup, logStreamName: name, startFromHead: false }));
      const text = (events.events ?? []).map((e) => (e.message ?? '').replace(/\n$/, '')).join('\n');
      if (text === '') return content;
      return `[the first part of this output is in CloudWatch Logs ${this.outputLogGroup}, stream ${name}]\n${text.slice(-limit)}`;
    } catch {
      return content;
    }
  }

  /** Asks SSM to stop a command on the instance (best effort: a node that is offline stops it when it returns). */
  async cancel(commandId: string, instanceId: string): Promise<void> {
    await this.ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: [instanceId] }));
  }
}

/**
 * The Comment of a step's command: names the step and the run. SSM allows 100 characters; a run id too long
 * for that keeps its start and a hash of the whole, so two steps or two runs never share a comment.
 */
export function commandComment(runId: string, step: string): string {
  const full = `fleet-upgrade ${step} ${runId}`;
  if (full.length <= 100) return full;
  const hash = createHash('sha256').update(runId).digest('hex').slice(0, 16);
  return `fleet-upgrade ${step} ${runId.slice(0, 100 - `fleet-upgrade ${step} `.length - 18)}..${hash}`;
}
