import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { closestWord, editDistance, refuseUnusedRoles, unusedRoles } from '../../core/unused-roles.js';
import { InputValidationError } from '../../core/errors.js';
import { parseInput } from '../../core/input-schema.js';

const nodes = [
  { id: 'core-1', roles: ['primary', 'controller'] },
  { id: 'dea-1', roles: ['dea'] },
  { id: 'router-1', roles: ['router'] },
  { id: 'mysql-1', roles: ['mysql'] },
];
const role = fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/);

function refusal(roleOrder: string[], allowUnusedRoles = false): InputValidationError | undefined {
  try {
    refuseUnusedRoles({ roleOrder, allowUnusedRoles }, nodes);
  } catch (error) {
    if (error instanceof InputValidationError) return error;
    throw error;
  }
  return undefined;
}

describe('edit distance', () => {
  it('counts single edits', () => {
    expect(editDistance('contrller', 'controller')).toBe(1);
    expect(editDistance('ruoter', 'router')).toBe(2);
    expect(editDistance('', 'dea')).toBe(3);
    expect(editDistance('dea', 'dea')).toBe(0);
  });

  it('is zero exactly for equal words, symmetric, and never more than the longer word', () => {
    fc.assert(
      fc.property(role, role, (a, b) => {
        const d = editDistance(a, b);
        expect(d === 0).toBe(a === b);
        expect(editDistance(b, a)).toBe(d);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
  });

  it('finds a cluster role one edit away as the closest', () => {
    fc.assert(
      fc.property(fc.constantFrom('primary', 'controller', 'router', 'mysql'), fc.nat(), (word, at) => {
        const i = at % word.length;
        const typo = word.slice(0, i) + word.slice(i + 1);
        expect(closestWord(typo, ['primary', 'controller', 'router', 'mysql', 'dea'])?.distance).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('roles in roleOrder that no node has', () => {
  it('refuses a typo, naming the role, its position and the closest role of the cluster', () => {
    const error = refusal(['dea', 'contrller', 'router']);
    expect(error?.field).toBe('roleOrder[1]');
    expect(error?.message).toMatch(/^roleOrder\[1\]: expected a role that a node of the cluster has: did you mean "controller"\?/);
    expect(error?.message).toContain('got "contrller"');
    expect(error?.message).toContain('--allow-unused-roles');
  });

  it("lists the cluster's roles when no role is close", () => {
    expect(refusal(['dea', 'zookeeper'])?.message).toContain("the cluster's roles are controller, dea, mysql, primary, router");
  });

  it('names every unused role after the first', () => {
    expect(refusal(['contrller', 'ruter'])?.message).toContain('(and 1 more: "ruter")');
  });

  it('accepts unused roles when allowUnusedRoles is set, and never checks the default order', () => {
    expect(refusal(['dea', 'contrller'], true)).toBeUndefined();
    expect(unusedRoles(undefined, [{ id: 'a', roles: [] }])).toEqual([]);
  });

  it("never refuses a role order made of the cluster's own roles", () => {
    const own = ['primary', 'controller', 'dea', 'router', 'mysql'];
    fc.assert(
      fc.property(fc.shuffledSubarray(own, { minLength: 1 }), (order) => {
        expect(refusal(order)).toBeUndefined();
      }),
    );
  });

  it('is refused by the input schema where the input lists the nodes', () => {
    expect(() => parseInput({ cluster: 'c', targetVersion: '3.1.0', nodes, roleOrder: ['dea', 'contrller'] })).toThrow(
      /roleOrder\[1\]: .*did you mean "controller"\?.*got "contrller"/,
    );
    expect(parseInput({ cluster: 'c', targetVersion: '3.1.0', nodes, roleOrder: ['dea', 'contrller'], allowUnusedRoles: true }).roleOrder).toEqual([
      'dea',
      'contrller',
    ]);
  });
});
