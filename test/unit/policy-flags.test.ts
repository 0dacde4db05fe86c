import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { addPolicyOptions, parseNotAfter, policyInput } from '../../cli/policy-flags.js';
import { UsageError } from '../../cli/errors.js';

describe('--on-failure, --max-failed-nodes, --not-after', () => {
  it('turns the flags into the input fields, a relative cutoff into an absolute time', () => {
    const command = addPolicyOptions(new Command('x')).exitOverride();
    command.parse(['--on-failure', 'rollback-and-continue', '--max-failed-nodes', '2', '--not-after', '+90m'], { from: 'user' });
    const input = policyInput(command.opts());
    expect(input).toMatchObject({ onFailure: 'rollback-and-continue', maxFailedNodes: 2 });
    const minutes = (Date.parse(String(input.notAfter)) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(89);
    expect(minutes).toBeLessThanOrEqual(90);
  });

  it('leaves the input alone without them', () => {
    expect(policyInput({})).toEqual({});
  });

  it('refuses a cutoff it cannot read, naming the flag and the forms it takes', () => {
    expect(() => parseNotAfter('in two hours')).toThrow(UsageError);
    expect(() => parseNotAfter('in two hours')).toThrow(
      /^--not-after: expected an ISO time with a zone \(2026-12-01T06:00:00Z\) or a time from now \(\+45m, \+2h, \+1d\)/,
    );
    expect(parseNotAfter('2026-12-01T07:00:00+01:00')).toBe('2026-12-01T06:00:00.000Z');
  });

  it('refuses a budget that is not a whole number', () => {
    const command = addPolicyOptions(new Command('x')).exitOverride();
    expect(() => command.parse(['--max-failed-nodes', 'two'], { from: 'user' })).toThrow(/--max-failed-nodes: expected a whole number/);
  });
});
