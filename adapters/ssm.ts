import { CancelCommandCommand, GetCommandInvocationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';

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

export interface CommandInvocation {
  status: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** SSM Run Command edge: sends the stack's document to one instance and reads the invocation back. */
export class SsmCommandRunner {
  constructor(
    private readonly ssm: SSMClient,
    private readonly documentName: string,
  ) {}

  async send(instanceId: string, parameters: StepCommandParameters, timeoutSeconds: number): Promise<string> {
    const out = await this.ssm.send(
      new SendCommandCommand({
        DocumentName: this.documentName,
        InstanceIds: [instanceId],
        Parameters: Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, [v]])),
        TimeoutSeconds: timeoutSeconds,
        // Comment lets an operator find the command in the SSM console (at most 100 characters).
        Comment: `fleet-upgrade ${parameters.runId} ${parameters.step}`.slice(0, 100),
      }),
    );
    const id = out.Command?.CommandId;
    if (id === undefined) throw new Error(`SSM accepted the ${parameters.step} command for ${instanceId} but returned no command id`);
    return id;
  }

  async invocation(commandId: string, instanceId: string): Promise<CommandInvocation> {
    const out = await this.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    return {
      status: out.Status ?? 'Unknown',
      // SSM reports -1 when the script never produced an exit code (timed out, cancelled, agent lost).
      exitCode: out.ResponseCode === undefined || out.ResponseCode < 0 ? null : out.ResponseCode,
      stdout: out.StandardOutputContent ?? '',
      stderr: out.StandardErrorContent ?? '',
    };
  }

  /** Asks SSM to stop a command on the instance (best effort: a node that is offline stops it when it returns). */
  async cancel(commandId: string, instanceId: string): Promise<void> {
    await this.ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: [instanceId] }));
  }
}
