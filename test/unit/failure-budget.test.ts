import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_MAX_FAILED_NODES, decidedByPolicy, failurePolicy } from '../../core/failure-budget.js';
import { parseInput } from '../../core/input-schema.js';
import { runContext } from '../../core/run-context.js';
import { InputValidationError } from '../../core/errors.js';

const base = { cluster: 'demo', targetVersion: '3.1.0', nodes: [{ id: 'dea-1', roles: ['dea'] }] };

describe('the failure budget (core rule)', () => {
  it('rolls back and continues within the budget, naming the policy and the count', () => {
    expect(failurePolicy(2, 1)).toEqual({ decision: 'skip', decidedBy: 'policy: onFailure=rollback-and-continue (1 of 2 failures)' });
    expect(failurePolicy(2, 2)).toEqual({ decision: 'skip', decidedBy: 'policy: onFailure=rollback-and-continue (2 of 2 failures)' });
  });

  it('stops the run as abort does once the budget is spent', () => {
    expect(failurePolicy(1, 2)).toEqual({ decision: 'abort', decidedBy: 'policy: onFailure=rollback-and-continue (failure 2: the budget of 1 is spent)' });
    expect(failurePolicy(0, 1).decision).toBe('abort');
  });

  it('exactly maxFailedNodes failures are rolled back, whatever the budget and the number of failures', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 60 }), (max, failures) => {
        const decisions = Array.from({ length: failures }, (_, i) => failurePolicy(max, i + 1).decision);
        expect(decisions.filter((d) => d === 'skip')).toHaveLength(Math.min(max, failures));
        // Once a failure stops the run, no later one is rolled back.
        expect(decisions.indexOf('abort') === -1 || decisions.slice(decisions.indexOf('abort')).every((d) => d === 'abort')).toBe(true);
      }),
    );
  });

  it('refuses a place that is not a count', () => {
    expect(() => failurePolicy(1, 0)).toThrow(RangeError);
  });

  it("tells a policy decision from a person's", () => {
    expect(decidedByPolicy(failurePolicy(1, 1).decidedBy)).toBe(true);
    expect(decidedByPolicy('alice@example.com')).toBe(false);
    expect(decidedByPolicy(undefined)).toBe(false);
  });
});

describe('onFailure and maxFailedNodes in the input', () => {
  it('asks by default and carries nothing of the budget in the run context', () => {
    const input = parseInput(base);
    expect(input.onFailure).toBe('ask');
    expect(runContext(input, 'r1', '2026-11-24T10:00:00.000Z')).not.toHaveProperty('onFailure');
  });

  it(`defaults the budget to ${DEFAULT_MAX_FAILED_NODES} with rollback-and-continue`, () => {
    const run = runContext(parseInput({ ...base, onFailure: 'rollback-and-continue' }), 'r1', '2026-11-24T10:00:00.000Z');
    expect(run).toMatchObject({ onFailure: 'rollback-and-continue', maxFailedNodes: DEFAULT_MAX_FAILED_NODES });
  });

  it('names the field and the expected form for bad values', () => {
    expect(() => parseInput({ ...base, onFailure: 'continue' })).toThrow(/^onFailure: expected "ask" or "rollback-and-continue", got "continue"/);
    expect(() => parseInput({ ...base, onFailure: 'rollback-and-continue', maxFailedNodes: -1 })).toThrow(/^maxFailedNodes: expected at least 0/);
    expect(() => parseInput({ ...base, onFailure: 'rollback-and-continue', maxFailedNodes: 1.5 })).toThrow(/^maxFailedNodes: expected a whole number/);
  });

  it('refuses a budget without the policy that spends it', () => {
    expect(() => parseInput({ ...base, maxFailedNodes: 2 })).toThrow(InputValidationError);
    expect(() => parseInput({ ...base, maxFailedNodes: 2 })).toThrow(/^maxFailedNodes: applies only with onFailure "rollback-and-continue"/);
  });
});
