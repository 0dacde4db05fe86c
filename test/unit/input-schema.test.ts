import { describe, expect, it } from 'vitest';
import { parseInput } from '../../core/input-schema.js';
import { InputValidationError } from '../../core/errors.js';
import { EXECUTION_TIMEOUT_DAYS, MAX_APPROVAL_TIMEOUT_MINUTES } from '../../core/execution-timeout.js';

const valid = { cluster: 'prod-als', targetVersion: '3.2.0', nodes: [{ id: 'dea-1', roles: ['dea'] }] };

function failure(input: unknown): InputValidationError {
  try {
    parseInput(input);
  } catch (error) {
    if (error instanceof InputValidationError) return error;
    throw error;
  }
  throw new Error('expected an InputValidationError');
}

describe('execution input', () => {
  it('accepts the documented contract and applies defaults', () => {
    const input = parseInput(valid);
    expect(input).toMatchObject({
      force: false,
      ignoreInspectFailures: false,
      dryRun: false,
      concurrency: {},
      approval: { timeoutMinutes: 1440, onTimeout: 'rollback' },
    });
  });

  it.each([
    [{ ...valid, targetVersion: '3.2.0; rm -rf /' }, 'targetVersion', 'expected a version like 3.2.0'],
    [{ ...valid, targetVersion: undefined }, 'targetVersion', 'is required'],
    [{ ...valid, cluster: '$(reboot)' }, 'cluster', 'expected a cluster name'],
    [
      {
        ...valid,
        nodes: [
          { id: 'dea-1', roles: ['dea'] },
          { id: 'a`b`', roles: [] },
        ],
      },
      'nodes[1].id',
      'expected a node id',
    ],
    [{ ...valid, nodes: [{ id: 'dea-1', roles: ['DEA'] }] }, 'nodes[0].roles[0]', 'expected a role name'],
    [{ ...valid, roleOrder: ['dea', 'dea'] }, 'roleOrder', 'duplicate'],
    [{ ...valid, roleOrder: [] }, 'roleOrder', 'at least one role'],
    [{ ...valid, force: 'yes' }, 'force', 'expected true or false'],
    [{ ...valid, concurrency: { dea: 0 } }, 'concurrency.dea', 'at least 1'],
    [{ ...valid, httpsProxy: 'http://proxy:3128/$(id)' }, 'httpsProxy', 'expected a proxy URL'],
    [
      {
        ...valid,
        nodes: [
          { id: 'x', roles: [] },
          { id: 'x', roles: [] },
        ],
      },
      'nodes',
      'unique node ids',
    ],
    [{ ...valid, clutser: 'typo' }, 'clutser', 'not a known field'],
    [{ ...valid, coreNode: 'nope' }, 'coreNode', 'one of the nodes'],
    // The execution times out after 14 days: a longer wait would end TIMED_OUT instead of applying onTimeout.
    [{ ...valid, approval: { timeoutMinutes: 30_000 } }, 'approval.timeoutMinutes', 'expected at most 10080 minutes (7 days'],
  ])('rejects %j naming the field %s', (input, field, expected) => {
    const error = failure(input);
    expect(error.name).toBe('InputValidationError');
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.message).toContain(expected);
  });

  it('accepts an approval wait of up to half the execution timeout, which the state machine uses as its own', () => {
    expect(parseInput({ ...valid, approval: { timeoutMinutes: MAX_APPROVAL_TIMEOUT_MINUTES } }).approval.timeoutMinutes).toBe(10_080);
    expect(MAX_APPROVAL_TIMEOUT_MINUTES * 60).toBeLessThan(EXECUTION_TIMEOUT_DAYS * 86_400);
  });

  it('rejects a non-object input', () => {
    expect(failure('hello').message).toContain('expected a JSON object');
  });

  it('shows look-alike unicode characters escaped in the message', () => {
    expect(failure({ ...valid, cluster: 'prod\u2011als' }).message).toContain('\\u2011');
  });
});
