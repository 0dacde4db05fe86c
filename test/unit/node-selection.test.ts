import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mayBeSentCommands, selectNodes } from '../../core/node-selection.js';
import { planUpgrade } from '../../core/plan.js';
import { parseInput } from '../../core/input-schema.js';
import { InputValidationError } from '../../core/errors.js';

const nodes = [
  { id: 'core-1', roles: ['primary', 'controller'] },
  { id: 'dea-2', roles: ['dea'] },
  { id: 'dea-1', roles: ['dea'] },
  { id: 'dea-10', roles: ['dea'] },
  { id: 'ctl-1', roles: ['controller'] },
  { id: 'mysql-1', roles: ['mysql'] },
];
const ids = nodes.map((n) => n.id);
/** As the plan Lambda gets it: the validated input without the node list (discovered nodes). */
const discovered = (more: Record<string, unknown>) => parseInput({ cluster: 'c', targetVersion: '3.1.0', ...more });

describe('only: the nodes of this run', () => {
  it('keeps every node without only', () => {
    expect(selectNodes(nodes, undefined)).toEqual({ selected: nodes, notInRun: [] });
  });

  it('selected and not in the run partition the cluster, whatever the selection', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(ids, { minLength: 1 }), (only) => {
        const { selected, notInRun } = selectNodes(nodes, only);
        expect(selected.map((n) => n.id).sort()).toEqual([...only].sort());
        expect([...selected.map((n) => n.id), ...notInRun].sort()).toEqual([...ids].sort());
      }),
    );
  });

  it('refuses an id the cluster does not have, naming it', () => {
    expect(() => selectNodes(nodes, ['dea-1', 'dea-9'])).toThrow(InputValidationError);
    expect(() => selectNodes(nodes, ['dea-1', 'dea-9'])).toThrow(/^only\[1\]: expected the id of one of the cluster's nodes, got "dea-9"/);
    expect(() => selectNodes(nodes, ['x', 'y'])).toThrow(/got 2 unknown ids: x, y/);
  });

  it('is refused by the input schema where the input lists the nodes', () => {
    expect(() => parseInput({ cluster: 'c', targetVersion: '3.1.0', nodes, only: ['dea-1', 'dea-9'] })).toThrow(
      /^only\[1\]: expected the id of one of the cluster's nodes, got "dea-9"/,
    );
  });

  it('plans only the selected nodes, in role order, and reports the others as not in the run', () => {
    const plan = planUpgrade(discovered({ only: ['ctl-1', 'dea-1'] }), nodes, new Map());
    expect(plan.order).toEqual(['dea-1', 'ctl-1']);
    expect(plan.notInRun).toEqual(['core-1', 'dea-2', 'dea-10', 'mysql-1']);
    expect(plan.upgradeCount + plan.skipCount).toBe(2);
  });

  it('keeps maintenance mode on the core node when it is not selected', () => {
    expect(planUpgrade(discovered({ only: ['dea-1'] }), nodes, new Map()).coreNode).toBe('core-1');
  });

  it('counts minHealthy on every node of the role in the cluster, selected or not', () => {
    const plan = planUpgrade(discovered({ only: ['dea-1', 'dea-2'], concurrency: { dea: 2 }, minHealthy: { dea: 1 } }), nodes, new Map());
    expect(plan.groups[0]).toMatchObject({ role: 'dea', concurrency: 2 });
  });

  it('judges a downgrade only on the selected nodes', () => {
    const known = new Map([
      ['dea-1', '3.0.0'],
      ['dea-2', '3.2.0'],
    ]);
    expect(() => planUpgrade(discovered({ only: ['dea-2'] }), nodes, known)).toThrow(/downgrade/);
    expect(planUpgrade(discovered({ only: ['dea-1'] }), nodes, known).upgradeCount).toBe(1);
  });

  it('refuses an unknown id and a role no node has in the plan, where the nodes were discovered', () => {
    expect(() => planUpgrade(discovered({ only: ['dea-9'] }), nodes, new Map())).toThrow(/^only\[0\]: .*"dea-9"/);
    expect(() => planUpgrade(discovered({ roleOrder: ['dea', 'contrller'] }), nodes, new Map())).toThrow(/^roleOrder\[1\]: .*did you mean "controller"\?/);
  });

  it('needs online only the selected nodes and whichever may be the core node', () => {
    const online = (input: Parameters<typeof mayBeSentCommands>[0]) => nodes.filter(mayBeSentCommands(input)).map((n) => n.id);
    expect(online({})).toEqual(ids);
    expect(online({ only: ['dea-1'] })).toEqual(['core-1', 'dea-1']);
    expect(online({ only: ['dea-1'], coreNode: 'ctl-1' })).toEqual(['dea-1', 'ctl-1']);
  });
});
