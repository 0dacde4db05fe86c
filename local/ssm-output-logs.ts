import { AwsJsonError, startJsonProtocolServer, type JsonProtocolServer } from './json-protocol.js';

/** What the agent writes to CloudWatch Logs of one command invocation sent with CloudWatchOutputConfig. */
export interface CommandOutput {
  commandId: string;
  instanceId: string;
  status: string;
  stdout: string;
  stderr: string;
  requestedAt: Date;
  /** SendCommand's CloudWatchOutputConfig: the log group the agent writes the whole output to. */
  outputLogGroup?: string;
  /** The document step's name (streams are `<command>/<instance>/<step>/stdout|stderr`). */
  pluginName: string;
}

/**
 * CloudWatch Logs (GetLogEvents, DescribeLogStreams) serving the whole output of the commands that asked for it,
 * as the SSM agent writes it: one stream per command, instance, step and output, in the group SendCommand named.
 */
export function startCommandOutputLogs(invocations: readonly CommandOutput[]): Promise<JsonProtocolServer> {
  const streamsOf = (group: unknown) =>
    invocations
      .filter((inv) => inv.outputLogGroup !== undefined && inv.outputLogGroup === group && inv.status !== 'InProgress')
      .flatMap((inv) =>
        (['stdout', 'stderr'] as const)
          .filter((o) => inv[o] !== '')
          .map((o) => ({ name: `${inv.commandId}/${inv.instanceId}/${inv.pluginName}/${o}`, text: inv[o], at: inv.requestedAt.getTime() })),
      );
  return startJsonProtocolServer({
    targetPrefix: 'Logs_20140328',
    contentType: 'application/x-amz-json-1.1',
    operations: {
      DescribeLogStreams: (request) => {
        const prefix = typeof request.logStreamNamePrefix === 'string' ? request.logStreamNamePrefix : '';
        return {
          logStreams: streamsOf(request.logGroupName)
            .filter((st) => st.name.startsWith(prefix))
            .map((st) => ({ logStreamName: st.name, creationTime: st.at })),
        };
      },
      GetLogEvents: (request) => {
        const stream = streamsOf(request.logGroupName).find((st) => st.name === request.logStreamName);
        if (stream === undefined) throw new AwsJsonError('ResourceNotFoundException', 'The specified log stream does not exist.');
        // One event per line; without startFromHead the newest events come (at most 10,000 by default).
        const lines = stream.text
          .replace(/\n$/, '')
          .split('\n')
          .map((message) => ({ timestamp: stream.at, message, ingestionTime: stream.at }));
        const events = request.startFromHead === true ? lines.slice(0, 10_000) : lines.slice(-10_000);
        return { events, nextForwardToken: 'f/end', nextBackwardToken: 'b/end' };
      },
    },
  });
}
