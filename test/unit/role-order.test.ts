import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_ROLE_ORDER, groupByRole, groupRoleOf } from '../../core/role-order.js';
import { compareNatural } from '../../core/natural-sort.js';

const node = (id: string, ...roles: string[]) => ({ id, roles });

describe('role ordering', () => {
  it('orders groups dea, controller, router, base, primary, then nodes matching no role', () => {
    const groups = groupByRole([
      node('mysql-1', 'mysql'),
      node('core-1', 'primary'),
      node('base-1', 'base'),
      node('router-1', 'router'),
      node('controller-1', 'controller'),
      node('dea-1', 'dea'),
    ]);
    expect(groups.map((g) => g.role)).toEqual(['dea', 'controller', 'router', 'base', 'primary', 'unmatched']);
  });

  it('upgrades a node that runs dea and router with the router group', () => {
    expect(groupRoleOf(node('n', 'dea', 'router'), DEFAULT_ROLE_ORDER)).toBe('router');
  });

  it('puts the core node, which runs primary and earlier roles, in the primary group', () => {
    const groups = groupByRole([node('core-1', 'controller', 'primary', 'router'), node('controller-2', 'controller')]);
    expect(groups).toEqual([
      { role: 'controller', nodes: [node('controller-2', 'controller')] },
      { role: 'primary', nodes: [node('core-1', 'controller', 'primary', 'router')] },
    ]);
  });

  it('sorts ids naturally inside a group: dea-2 before dea-10', () => {
    const groups = groupByRole([node('dea-10', 'dea'), node('dea-2', 'dea'), node('dea-1', 'dea')]);
    expect(groups[0]?.nodes.map((n) => n.id)).toEqual(['dea-1', 'dea-2', 'dea-10']);
  });

  it('follows an overriding role order, unknown role names forming their own groups', () => {
    const groups = groupByRole([node('a', 'router'), node('b', 'dea'), node('c', 'cache'), node('d')], ['router', 'cache', 'dea']);
    expect(groups.map((g) => [g.role, g.nodes.map((n) => n.id)])).toEqual([
      ['router', ['a']],
      ['cache', ['c']],
      ['dea', ['b']],
      ['unmatched', ['d']],
    ]);
  });

  const roles = fc.constantFrom('dea', 'controller', 'router', 'base', 'primary', 'mysql', 'redis');
  const nodes = fc.uniqueArray(fc.record({ id: fc.stringMatching(/^[a-z]{1,3}-[0-9]{1,3}$/), roles: fc.uniqueArray(roles, { maxLength: 4 }) }), {
    selector: (n) => n.id,
    maxLength: 40,
  });

  it('places every node in exactly one group (property)', () => {
    fc.assert(
      fc.property(nodes, (ns) => {
        const ids = groupByRole(ns).flatMap((g) => g.nodes.map((n) => n.id));
        expect(ids.sort()).toEqual(ns.map((n) => n.id).sort());
      }),
    );
  });

  it('never upgrades a node before a node whose group role comes earlier in the order (property)', () => {
    fc.assert(
      fc.property(nodes, (ns) => {
        const order = [...DEFAULT_ROLE_ORDER, 'unmatched'];
        const groupIndex = groupByRole(ns).map((g) => order.indexOf(g.role));
        expect(groupIndex).toEqual([...groupIndex].sort((a, b) => a - b));
        for (const g of groupByRole(ns)) {
          // a node with a later role of the order never sits in an earlier group
          for (const n of g.nodes) for (const r of n.roles) expect(order.indexOf(r) === -1 || order.indexOf(r) <= order.indexOf(g.role)).toBe(true);
        }
      }),
    );
  });

  it('keeps each group in natural id order (property)', () => {
    fc.assert(
      fc.property(nodes, (ns) => {
        for (const g of groupByRole(ns)) {
          const ids = g.nodes.map((n) => n.id);
          expect(ids).toEqual([...ids].sort(compareNatural));
        }
      }),
    );
  });
});
