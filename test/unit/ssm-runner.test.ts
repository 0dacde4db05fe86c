import { beforeEach, describe, expect, it, afterAll } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetCommandInvocationCommand, ListCommandsCommand, SSMClient, SendCommandCommand, type Command } from '@aws-sdk/client-ssm';
import { CloudWatchLogsClient, DescribeLogStreamsCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { STDOUT_CONTENT_LIMIT, SsmCommandRunner, commandComment } from '../../adapters/ssm.js';
import { parseDetails } from '../../core/step-result.js';
import { COMMAND_DELIVERY_TIMEOUT_SECONDS, STEP_TIMEOUT_SECONDS, unresponsiveAfterSeconds } from '../../core/steps.js';

const ssm = mockClient(SSMClient);
// Mocks patch the client classes for the whole process: undone for the files that run after this one.
afterAll(() => {
  ssm.restore();
});
const runner = new SsmCommandRunner(new SSMClient({ region: 'eu-west-1' }), 'fleet-upgrade-runbook');

/** Shaped like real ListCommands entries (the fields we read, and a few we do not). */
const command = (id: string, comment: string): Command => ({
  CommandId: id,
  DocumentName: 'fleet-upgrade-runbook',
  Comment: comment,
  InstanceIds: ['i-0abc'],
  RequestedDateTime: new Date('2026-11-24T10:00:00Z'),
  Status: 'Success',
});

// SendCommand's TimeoutSeconds is how long the command may wait for delivery: "If this time is reached and the
// command hasn't already started running, it won't run"
// (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html); the script's own limit
// is the document's execution timeout, and a command may end as late as both added together
// (https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html#monitor-about-status-timeouts).
// Whole output goes to CloudWatch Logs: GetCommandInvocation returns only the first 24,000 characters of stdout
// (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html).
describe('sending a step', () => {
  beforeEach(() => ssm.reset());

  it("waits a short delivery timeout apart from the step's execution timeout, and sends the whole output to the stack's log group", async () => {
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'c-1' } });
    const withLogs = new SsmCommandRunner(new SSMClient({ region: 'eu-west-1' }), 'fleet-upgrade-runbook', 'fleet-upgrade-command-output');
    const upgrade = String(STEP_TIMEOUT_SECONDS.upgrade);
    await expect(
      withLogs.send('i-0abc', {
        step: 'upgrade',
        targetVersion: '3.1.0',
        artifactBaseUrl: 'https://a.example.com',
        httpsProxy: '',
        runId: 'run-1',
        executionTimeout: upgrade,
      }),
    ).resolves.toBe('c-1');
    const input = ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      InstanceIds: ['i-0abc'],
      TimeoutSeconds: COMMAND_DELIVERY_TIMEOUT_SECONDS,
      Parameters: { executionTimeout: [upgrade] },
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: 'fleet-upgrade-command-output' },
    });
    expect(COMMAND_DELIVERY_TIMEOUT_SECONDS).toBeLessThan(STEP_TIMEOUT_SECONDS.upgrade);
    // SSM accepts 30 s to 30 days.
    expect(input?.TimeoutSeconds).toBeGreaterThanOrEqual(30);
  });

  it('calls a node unresponsive only once a command delivered at the last moment would have used its whole execution time', () => {
    for (const seconds of Object.values(STEP_TIMEOUT_SECONDS)) {
      expect(unresponsiveAfterSeconds(seconds)).toBeGreaterThan(Math.min(COMMAND_DELIVERY_TIMEOUT_SECONDS, seconds) + seconds);
    }
  });
});

describe('finding the command a crashed attempt sent', () => {
  beforeEach(() => ssm.reset());

  it("reads every page (an empty token ends the list) and keeps only this run's step", async () => {
    ssm
      .on(ListCommandsCommand)
      .resolvesOnce({
        Commands: [command('c-other-step', commandComment('run-1', 'backup')), command('c-other-run', commandComment('run-2', 'upgrade'))],
        NextToken: 'page-2',
      })
      .resolvesOnce({ Commands: [command('c-mine', commandComment('run-1', 'upgrade'))], NextToken: '' });
    await expect(runner.findSent('i-0abc', 'run-1', 'upgrade', new Date('2026-11-24T10:00:00Z'))).resolves.toEqual(['c-mine']);
    const calls = ssm.commandCalls(ListCommandsCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.args[0].input).toEqual({
      InstanceId: 'i-0abc',
      Filters: [
        { key: 'InvokedAfter', value: '2026-11-24T09:59:55Z' },
        { key: 'DocumentName', value: 'fleet-upgrade-runbook' },
      ],
      NextToken: undefined,
    });
    expect(calls[1]?.args[0].input.NextToken).toBe('page-2');
  });

  it("names steps and runs apart within SSM's 100 characters, even for the longest run ids", () => {
    const long = `r${'x'.repeat(78)}1`;
    const comments = ['maintenance-on', 'maintenance-off', 'post-upgrade-validation', 'pre-upgrade-validation'].flatMap((step) => [
      commandComment(long, step),
      commandComment(`${long.slice(0, -1)}2`, step),
    ]);
    expect(new Set(comments).size).toBe(comments.length);
    for (const c of comments) expect(c.length).toBeLessThanOrEqual(100);
    expect(commandComment('run-1', 'upgrade')).toBe('fleet-upgrade upgrade run-1');
  });
});

// GetCommandInvocation returns only the first 24,000 characters of stdout and 8,000 of stderr
// (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html): the step's
// result line and a failure's reason are at the end, so a cut output is completed from its log stream.
describe("reading a step's result", () => {
  const logs = mockClient(CloudWatchLogsClient);
  // Mocks patch the client classes for the whole process: undone for the files that run after this one.
  afterAll(() => {
    logs.restore();
  });
  const reader = new SsmCommandRunner(
    new SSMClient({ region: 'eu-west-1' }),
    'fleet-upgrade-runbook',
    'command-output',
    new CloudWatchLogsClient({ region: 'eu-west-1' }),
  );
  const chatty = `${'progress line\n'.repeat(3_000)}{"version":"3.1.0"}\n`;
  beforeEach(() => {
    ssm.reset();
    logs.reset();
    ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: chatty.slice(0, STDOUT_CONTENT_LIMIT), StandardErrorContent: '' });
  });

  it('completes a stdout cut at 24,000 characters from CloudWatch Logs, so the result line is read', async () => {
    logs
      .on(DescribeLogStreamsCommand, { logGroupName: 'command-output', logStreamNamePrefix: 'cmd-1/i-0abc/' })
      .resolves({ logStreams: [{ logStreamName: 'cmd-1/i-0abc/runUpgradeStep/stdout' }] });
    logs.on(GetLogEventsCommand, { logGroupName: 'command-output', logStreamName: 'cmd-1/i-0abc/runUpgradeStep/stdout', startFromHead: false }).resolves({
      events: chatty
        .trimEnd()
        .split('\n')
        .slice(-500)
        .map((message) => ({ message, timestamp: 1 })),
    });
    const out = await reader.invocation('cmd-1', 'i-0abc');
    expect(parseDetails(out.stdout)).toEqual({ version: '3.1.0' });
    expect(out.stdout).toMatch(/^\[the first part of this output is in CloudWatch Logs command-output, stream cmd-1\/i-0abc\/runUpgradeStep\/stdout\]\n/);
    expect(out.stdout.length).toBeLessThanOrEqual(STDOUT_CONTENT_LIMIT + 200);
  });

  it('keeps the start when the log stream cannot be read (the result line is then missing, as before)', async () => {
    logs.on(DescribeLogStreamsCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const out = await reader.invocation('cmd-1', 'i-0abc');
    expect(out.stdout).toBe(chatty.slice(0, STDOUT_CONTENT_LIMIT));
    expect(parseDetails(out.stdout)).toEqual({});
  });

  it('reads no log for an output under the limit', async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: '{"version":"3.1.0"}\n' });
    await reader.invocation('cmd-1', 'i-0abc');
    expect(logs.calls()).toHaveLength(0);
  });
});
