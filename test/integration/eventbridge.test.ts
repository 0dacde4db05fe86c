import { mkdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalEventBus, matchesPattern, type EventRule } from '../../local/eventbridge.js';
import { executionEndedEvent, localArns, type LocalHandler } from '../../local/state-machine-runner.js';
import { localStackParts, synthesizeTemplate, type LocalStackParts } from '../../local/template.js';
import { DOCUMENT_NAME, TABLE_NAME } from '../../local/rehearsal.js';
import type { CommandStatusChange } from '../../local/ssm-endpoint.js';
import { LocalSchedules } from '../../local/schedules.js';

// An event reaches a rule's target only when it matches the rule's pattern: every field the pattern names must
// match, a list of values matches any one of them, prefix / anything-but / exists as documented in
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html and
// https://docs.aws.amazon.com/eventbridge/latest/userguide/content-filtering-with-event-patterns.html
describe('EventBridge pattern matching', () => {
  const event = { source: 'aws.ssm', 'detail-type': 'X', resources: ['arn:a', 'arn:b'], detail: { status: 'Success', 'document-name': 'doc', count: 3 } };

  it('matches exact values, a list as any of them, nested fields, and a list-valued event field by any element', () => {
    expect(matchesPattern({ source: ['aws.ssm'] }, event)).toBe(true);
    expect(matchesPattern({ source: ['aws.states', 'aws.ssm'], detail: { status: ['Failed', 'Success'] } }, event)).toBe(true);
    expect(matchesPattern({ resources: ['arn:b'] }, event)).toBe(true);
    expect(matchesPattern({ detail: { count: [3] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { count: ['3'] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { status: ['InProgress'] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { missing: ['x'] } }, event)).toBe(false);
    expect(matchesPattern({ other: { status: ['Success'] } }, event)).toBe(false);
  });

  it('supports prefix, anything-but and exists, and refuses operators it does not know', () => {
    expect(matchesPattern({ source: [{ prefix: 'aws.' }] }, event)).toBe(true);
    expect(matchesPattern({ detail: { status: [{ 'anything-but': ['Failed', 'TimedOut'] }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { status: [{ 'anything-but': 'Success' }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { status: [{ 'anything-but': { prefix: 'Succ' } }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { missing: [{ exists: false }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { status: [{ exists: false }] } }, event)).toBe(false);
    expect(() => matchesPattern({ detail: { count: [{ numeric: ['>', 1] }] } }, event)).toThrow(/numeric is not supported/);
  });
});

describe("the stack's rules route status changes", () => {
  let parts: LocalStackParts;
  beforeAll(async () => {
    mkdirSync('.tmp', { recursive: true });
    const template = await synthesizeTemplate({ runbook: 'release-dir' }, '.tmp');
    parts = localStackParts(template, ({ table, document }) => ({ [table]: TABLE_NAME, [document]: DOCUMENT_NAME }));
  });

  /** A bus over the template's rules whose targets record what they were handed (by handler name). */
  function recordingBus(fail: (name: string) => boolean = () => false, rules: EventRule[] = parts.rules) {
    const received: { name: string; event: unknown }[] = [];
    const handlers = new Map<string, LocalHandler>(
      Object.entries(parts.handlers).map(([id, name]) => [
        id,
        async (event: unknown) => {
          received.push({ name, event });
          if (fail(name)) throw new Error(`${name} crashed`);
          return {};
        },
      ]),
    );
    return { bus: new LocalEventBus(rules, handlers, [10, 10]), received, handlers };
  }

  const commandEvent = (status: string, document = DOCUMENT_NAME): CommandStatusChange => ({
    version: '0',
    id: 'e-1',
    'detail-type': 'EC2 Command Invocation Status-change Notification',
    source: 'aws.ssm',
    account: '123456789012',
    time: '2026-11-29T10:00:00Z',
    region: 'us-east-1',
    resources: ['arn:aws:ec2:us-east-1:123456789012:instance/core-1'],
    detail: { 'command-id': 'c-1', 'document-name': document, 'instance-id': 'core-1', 'requested-date-time': '2026-11-29T10:00:00Z', status },
  });
  const executionEvent = (status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT', stateMachineArn = localArns().stateMachine) =>
    executionEndedEvent({
      status,
      executionArn: localArns().execution('run-1'),
      stateMachineArn,
      name: 'run-1',
      startDate: 1,
      stopDate: 2,
      input: '{}',
    });

  // https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html: past 248 KiB of escaped
  // input and output the input is left out (and the output, when it alone passes 248 KiB).
  it('leaves a large execution input out of the status-change event, as Step Functions does', () => {
    const base = {
      status: 'ABORTED' as const,
      executionArn: localArns().execution('run-1'),
      stateMachineArn: localArns().stateMachine,
      name: 'run-1',
      startDate: 1,
      stopDate: 2,
    };
    const small = executionEndedEvent({ ...base, input: '{"cluster":"c"}' });
    expect(small.detail).toMatchObject({ input: '{"cluster":"c"}', inputDetails: { included: true } });
    // Quotes inside the input are escaped: 200 KiB of them count twice.
    const large = executionEndedEvent({ ...base, input: JSON.stringify({ cluster: 'c', nodes: '"'.repeat(200 * 1024) }) });
    expect(large.detail).toMatchObject({ input: null, inputDetails: { included: false } });
  });

  it("hands command-finished only the final statuses of the runbook document's commands", async () => {
    const { bus, received } = recordingBus();
    for (const status of ['Pending', 'InProgress', 'Delayed', 'Success', 'Failed', 'TimedOut', 'Cancelled']) await bus.put(commandEvent(status));
    await bus.put(commandEvent('Success', 'AWS-RunShellScript'));
    expect(received.map((r) => [r.name, (r.event as CommandStatusChange).detail.status])).toEqual([
      ['command-finished', 'Success'],
      ['command-finished', 'Failed'],
      ['command-finished', 'TimedOut'],
      ['command-finished', 'Cancelled'],
    ]);
  });

  it("hands run-stopped this state machine's ABORTED, TIMED_OUT and FAILED executions, never a SUCCEEDED one or another machine's", async () => {
    const { bus, received } = recordingBus();
    for (const status of ['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT'] as const) await bus.put(executionEvent(status));
    await bus.put(executionEvent('FAILED', localArns('SomeOtherMachine').stateMachine));
    expect(received.map((r) => [r.name, (r.event as { detail: { status: string } }).detail.status])).toEqual([
      ['run-stopped', 'FAILED'],
      ['run-stopped', 'ABORTED'],
      ['run-stopped', 'TIMED_OUT'],
    ]);
  });

  // "If the function returns an error, by default Lambda attempts to run it two more times"
  // https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
  it('retries a target that fails on an event twice, as Lambda retries an asynchronous invocation, then drops the event', async () => {
    const { bus, received } = recordingBus((name) => name === 'run-stopped');
    await bus.put(executionEvent('TIMED_OUT'));
    expect(received.map((r) => r.name)).toEqual(['run-stopped', 'run-stopped', 'run-stopped']);
    expect(bus.deliveries).toMatchObject([{ target: expect.stringMatching(/^RunStopped/), attempts: 3, succeeded: false }]);
  });

  it('stops retrying once an attempt succeeds', async () => {
    let failures = 1;
    const { bus, received } = recordingBus((name) => name === 'command-finished' && failures-- > 0);
    await bus.put(commandEvent('Success'));
    expect(received).toHaveLength(2);
    expect(bus.deliveries).toMatchObject([{ attempts: 2, succeeded: true }]);
  });

  it('finds the reminder schedule rule in the template and runs remind-approvers on the local interval, never for an event', async () => {
    expect(parts.rules.filter((r) => r.schedule !== undefined).map((r) => [r.schedule, r.targets.map((t) => parts.handlers[t])])).toEqual([
      ['rate(5 minutes)', ['remind-approvers']],
    ]);
    const { bus, received, handlers } = recordingBus();
    await bus.put(commandEvent('Success'));
    await bus.put(executionEvent('FAILED'));
    expect(received.map((r) => r.name)).toEqual(['command-finished', 'run-stopped']);
    received.length = 0;
    const schedules = new LocalSchedules(parts.rules, handlers, () => undefined, 20).start();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await schedules.stop();
    expect(received.length).toBeGreaterThanOrEqual(2);
    expect(new Set(received.map((r) => r.name))).toEqual(new Set(['remind-approvers']));
    expect(received[0]?.event).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      resources: [expect.stringMatching(/:rule\/ApprovalReminders/)],
    });
  });

  it('does not invoke a schedule target again while it still runs, and reports a failure (the next tick is the retry)', async () => {
    const rule = parts.rules.find((r) => r.schedule !== undefined) as EventRule;
    let calls = 0;
    let release: () => void = () => undefined;
    const slow = new Map<string, LocalHandler>(
      rule.targets.map((t) => [
        t,
        async () => {
          calls += 1;
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          throw new Error('sweep failed');
        },
      ]),
    );
    const errors: string[] = [];
    const schedules = new LocalSchedules([rule], slow, (_rule, _target, error) => errors.push(String(error)), 10);
    for (let i = 0; i < 5; i++) schedules.fire(rule);
    expect(calls).toBe(1);
    release();
    await schedules.stop();
    expect(errors).toEqual(['Error: sweep failed']);
    expect(() => new LocalSchedules([{ ...rule, schedule: 'every 5 minutes' }], slow, () => undefined)).toThrow(/neither rate\(…\) nor cron\(…\)/);
  });
});
