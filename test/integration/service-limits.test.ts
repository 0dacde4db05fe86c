import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { GetCommandInvocationCommand, SSMClient, SendCommandCommand } from '@aws-sdk/client-ssm';
import { startExecution, taskOverrides, type LocalHandler } from '../../local/state-machine-runner.js';
import { LocalTaskTokens } from '../../local/task-tokens.js';
import { HISTORY_EVENT_LIMIT, PAYLOAD_LIMIT_BYTES } from '../../local/service-limits.js';
import { functionTimeouts, withLambdaTimeout } from '../../local/lambda-timeout.js';
import { startLocalSsm } from '../../local/ssm-endpoint.js';

// Small hand-written definitions run on the same engine and runner as the rehearsal, to show each limit the
// service enforces and aws-local-stepfunctions skips.

type Overrides = Record<string, (input: unknown) => Promise<unknown>>;
const run = (definition: Record<string, unknown>, overrides: Overrides, input: unknown = {}) =>
  startExecution({ definition, overrides, input, executionName: 'limits', tokens: new LocalTaskTokens() }).result;

/** A JSON string value whose encoding takes about `bytes` bytes. */
const filler = (bytes: number) => 'x'.repeat(bytes);
const catchAll = [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }];
const retryAll = [{ ErrorEquals: ['States.ALL'], MaxAttempts: 3, IntervalSeconds: 1 }];
const lambda = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;

/** A Distributed Map over `items` whose children output what `child` returns, with ResultPath null and a Catch on States.ALL. */
function distributedMap(): Record<string, unknown> {
  return {
    StartAt: 'Each node',
    States: {
      'Each node': {
        Type: 'Map',
        ItemsPath: '$.items',
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'Child',
          States: { Child: { Type: 'Task', Resource: lambda('Child'), End: true } },
        },
        MaxConcurrency: 4,
        ResultPath: null,
        Catch: catchAll,
        Next: 'After',
      },
      After: { Type: 'Task', Resource: lambda('After'), End: true },
      Caught: { Type: 'Pass', Result: 'caught', End: true },
    },
  };
}

// "Maximum input or output size for a task, state, or execution: 256 KiB of data as a UTF-8 encoded string"
// https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
// "States.DataLimitExceeded ... a terminal error that can't be caught by the States.ALL error type"; reported
// when a connector's output, a state's output, or a state's input after Parameters is larger than the quota
// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
describe('state input and output held to 256 KiB', () => {
  it('fails a Distributed Map whose gathered child outputs pass 256 KiB, even with ResultPath null, and no Catch on States.ALL takes it', async () => {
    // 20 children of 16 KiB each: every one far below the limit, their gathered array (aws-cdk issue 24799) above it.
    const after: unknown[] = [];
    const outcome = await run(
      distributedMap(),
      {
        Child: async () => ({ log: filler(16 * 1024) }),
        After: async (input) => {
          after.push(input);
          return input;
        },
      },
      { items: Array.from({ length: 20 }, (_, i) => i) },
    );
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(after).toEqual([]);
  });

  it("lets the same Map succeed when every child ends with an empty output (the stack's ENDS_CHILD)", async () => {
    const outcome = await run(distributedMap(), { Child: async () => ({}), After: async (input) => input }, { items: Array.from({ length: 20 }, (_, i) => i) });
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { items: expect.any(Array) } });
  });

  it('fails on a task result past the limit at once: its Retry and Catch on States.ALL do not apply', async () => {
    let calls = 0;
    const outcome = await run(
      {
        StartAt: 'Big',
        States: {
          Big: { Type: 'Task', Resource: lambda('Big'), Retry: retryAll, Catch: catchAll, End: true },
          Caught: { Type: 'Pass', End: true },
        },
      },
      {
        Big: async () => {
          calls += 1;
          return { blob: filler(PAYLOAD_LIMIT_BYTES) };
        },
      },
    );
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(calls).toBe(1);
  });

  it("counts a state's whole output: a result under the limit merged into an input under the limit can pass it", async () => {
    const outcome = await run(
      {
        StartAt: 'Merge',
        States: {
          Merge: { Type: 'Task', Resource: lambda('Merge'), ResultPath: '$.result', Catch: catchAll, Next: 'Then' },
          Then: { Type: 'Task', Resource: lambda('Then'), End: true },
          Caught: { Type: 'Pass', End: true },
        },
      },
      { Merge: async () => filler(150 * 1024), Then: async () => ({}) },
      { carried: filler(150 * 1024) },
    );
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
  });

  it('counts UTF-8 bytes, not characters: 100,000 euro signs are 300,000 bytes', async () => {
    const euros = '€'.repeat(100_000);
    expect(euros.length).toBeLessThan(PAYLOAD_LIMIT_BYTES);
    const outcome = await run(
      {
        StartAt: 'Euros',
        States: { Euros: { Type: 'Task', Resource: lambda('Euros'), End: true } },
      },
      { Euros: async () => euros },
    );
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
  });
});

// "Maximum execution history size: 25,000 events" https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
// and https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html; AWS fails the execution with
// States.Runtime, "The execution reached the maximum number of history events (25000).", as event 25,000.
describe('25,000 events per execution history', () => {
  it('fails an execution that loops past 25,000 history events with States.Runtime', async () => {
    let polls = 0;
    const outcome = await run(
      {
        StartAt: 'Poll',
        States: {
          // A Lambda task is 5 events, a Choice 2: the loop passes the limit after about 3,570 rounds.
          Poll: { Type: 'Task', Resource: lambda('Poll'), Next: 'Done?' },
          'Done?': { Type: 'Choice', Choices: [{ Variable: '$.done', BooleanEquals: true, Next: 'Done' }], Default: 'Poll' },
          Done: { Type: 'Succeed' },
        },
      },
      {
        Poll: async () => {
          polls += 1;
          return { done: polls >= 10_000 };
        },
      },
    );
    expect(outcome).toMatchObject({
      status: 'FAILED',
      error: 'States.Runtime',
      cause: `The execution reached the maximum number of history events (${HISTORY_EVENT_LIMIT}).`,
    });
    expect(polls).toBeGreaterThan(3_500);
    expect(polls).toBeLessThan(3_600);
  });
});

// "TimeoutSeconds: the maximum number of seconds an execution of the state machine can run. If it runs longer
// than the specified time, the execution fails with a States.Timeout Error name" and ends TIMED_OUT
// https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html
describe("the execution's own TimeoutSeconds", () => {
  it('ends the execution TIMED_OUT with States.Timeout, its Catch on States.ALL not taken', async () => {
    const outcome = await run(
      {
        TimeoutSeconds: 1,
        StartAt: 'Slow',
        States: {
          Slow: { Type: 'Task', Resource: lambda('Slow'), TimeoutSeconds: 30, Catch: catchAll, End: true },
          Caught: { Type: 'Pass', End: true },
        },
      },
      { Slow: () => new Promise((resolve) => setTimeout(resolve, 5_000).unref()) },
    );
    expect(outcome).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
  });
});

// Past its function's Timeout an invocation ends with errorType "Sandbox.Timedout" ("Task timed out after N
// seconds"): https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html#troubleshooting-timeouts
// Step Functions matches Retry and Catch on that error name
// (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
describe("each Lambda's Timeout from the template", () => {
  const definition = {
    StartAt: 'Slow',
    States: {
      Slow: {
        Type: 'Task',
        Resource: lambda('SlowFunction'),
        Retry: [{ ErrorEquals: ['Sandbox.Timedout'], MaxAttempts: 2, IntervalSeconds: 1 }],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
        End: true,
      },
      Caught: { Type: 'Pass', End: true },
    },
  };

  it("reads every function's Timeout, and CloudFormation's 3 s default where none is set", () => {
    expect(
      functionTimeouts({
        Resources: {
          StepFunction: { Type: 'AWS::Lambda::Function', Properties: { Timeout: 30 } },
          CleanupFunction: { Type: 'AWS::Lambda::Function', Properties: { Timeout: 420 } },
          BareFunction: { Type: 'AWS::Lambda::Function', Properties: {} },
          Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
        },
      }),
    ).toEqual({ StepFunction: 30, CleanupFunction: 420, BareFunction: 3 });
  });

  it("ends an invocation past its Timeout as Sandbox.Timedout, and the state's Retry and Catch apply", async () => {
    let calls = 0;
    const slow: LocalHandler = async () => {
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return { done: true };
    };
    const overrides = taskOverrides(definition, new Map([['SlowFunction', withLambdaTimeout(slow, 0.1)]]), new LocalTaskTokens());
    const outcome = await run(definition, overrides);
    // The first attempt and two retries, then the Catch.
    expect(calls).toBe(3);
    expect(outcome).toMatchObject({
      status: 'SUCCEEDED',
      output: { error: { Error: 'Sandbox.Timedout', Cause: expect.stringMatching(/Task timed out after 0\.10 seconds$/) } },
    });
  });

  it('lets an invocation within its Timeout succeed', async () => {
    const quick: LocalHandler = async () => ({ done: true });
    const overrides = taskOverrides(definition, new Map([['SlowFunction', withLambdaTimeout(quick, 0.5)]]), new LocalTaskTokens());
    await expect(run(definition, overrides)).resolves.toMatchObject({ status: 'SUCCEEDED', output: { done: true } });
  });
});

// GetCommandInvocation returns "the first 24,000 characters written by the plugin to stdout" and the first
// 8,000 written to stderr: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html
// (also https://docs.aws.amazon.com/sdk-for-ruby/v3/api/Aws/SSM/Types/GetCommandInvocationResult.html).
describe("GetCommandInvocation's truncation", () => {
  it('returns the first 24,000 characters of stdout and the first 8,000 of stderr: a reason printed last is not among them', async () => {
    mkdirSync('.tmp', { recursive: true });
    const workdir = mkdtempSync(join('.tmp', 'ssm-truncation-'));
    mkdirSync(join(workdir, 'node-1'));
    const ssm = await startLocalSsm({
      documentName: 'long-output',
      document: {
        parameters: { step: { type: 'String' } },
        mainSteps: [
          {
            action: 'aws:runShellScript',
            inputs: {
              runCommand: [
                "head -c 30000 /dev/zero | tr '\\0' o",
                'echo',
                'echo REASON-AT-THE-END',
                "head -c 10000 /dev/zero | tr '\\0' e >&2",
                'echo STDERR-REASON >&2',
              ],
            },
          },
        ],
      },
      nodeRoots: new Map([['node-1', join(workdir, 'node-1')]]),
      workdir,
      onStatusChange: async () => undefined,
    });
    const client = new SSMClient({ endpoint: ssm.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const sent = await client.send(new SendCommandCommand({ DocumentName: 'long-output', InstanceIds: ['node-1'], Parameters: { step: ['long'] } }));
      await ssm.idle();
      const out = await client.send(new GetCommandInvocationCommand({ CommandId: sent.Command?.CommandId, InstanceId: 'node-1' }));
      expect(out.Status).toBe('Success');
      expect(out.StandardOutputContent).toBe('o'.repeat(24_000));
      expect(out.StandardErrorContent).toBe('e'.repeat(8_000));
    } finally {
      client.destroy();
      await ssm.close();
    }
  });
});
