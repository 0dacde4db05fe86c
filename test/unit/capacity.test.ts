import { describe, expect, it } from 'vitest';
import { STATE_LIMIT_BYTES, STATE_MARGIN_BYTES, estimateStates, refuseOversizedRun } from '../../core/capacity.js';
import { InputValidationError } from '../../core/errors.js';
import { parseInput, type NodeSpec } from '../../core/input-schema.js';
import { planUpgrade } from '../../core/plan.js';
import { runContext } from '../../core/run-context.js';
import { checkPhasePlan, stateMachineGroups } from '../../core/state-plan.js';

const ec2Id = (i: number) => `i-${(0x0abc0000000000 + i).toString(16).padStart(17, '0')}`;
const typicalRoles = (i: number) => (i === 0 ? ['primary'] : i % 10 === 0 ? ['router'] : ['dea']);
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

function cluster(count: number, idOf = ec2Id, rolesOf = typicalRoles, more: Record<string, unknown> = {}) {
  const nodes: NodeSpec[] = Array.from({ length: count }, (_, i) => ({ id: idOf(i), roles: rolesOf(i) }));
  const input = parseInput({ cluster: 'prod', targetVersion: '3.2.0', ...more });
  const plan = planUpgrade({ ...input, nodes }, nodes, new Map());
  const run = runContext(input, 'prod-3.2.0-20261124T1030', '2026-11-24T10:30:00.000Z');
  return { nodes, input, plan, run };
}

function refusal(thrower: () => unknown): InputValidationError {
  try {
    thrower();
  } catch (error) {
    if (error instanceof InputValidationError) return error;
    throw error;
  }
  throw new Error('expected an InputValidationError');
}

describe('the largest state of one run', () => {
  it('counts every node id before the window and every node item with its retire flag in it, byte for byte', () => {
    const { input, plan, run } = cluster(1000);
    const [check, window] = estimateStates(input, run, plan, { listed: false }).states;
    const base = { input, run, lock: { acquired: true, expiresAt: run.startedAt } };
    expect(check?.bytes).toBe(bytes({ ...base, plan: checkPhasePlan(plan) }));
    expect(window?.bytes).toBe(
      bytes({ ...base, plan: { coreNode: plan.coreNode, upgradeCount: 1000, skipCount: 0, groups: stateMachineGroups(plan), skipped: [] } }),
    );
    expect(JSON.stringify(stateMachineGroups(plan)).match(/"retire":true/g)).toHaveLength(900);
  });

  it('reports for EC2 instance ids a ceiling that fits, while two nodes more do not', () => {
    const { input, plan, run } = cluster(6000);
    const estimate = estimateStates(input, run, plan, { listed: false });
    expect(estimate).toMatchObject({ fits: false, idLength: 19 });
    const most = estimate.maxNodes.discovered;
    expect(most).toBeGreaterThan(5000);
    const at = cluster(most);
    expect(estimateStates(at.input, at.run, at.plan, { listed: false }).fits).toBe(true);
    const past = cluster(most + 2);
    expect(estimateStates(past.input, past.run, past.plan, { listed: false }).fits).toBe(false);
  });

  it('keeps the margin free: a window state past the limit less the margin is refused', () => {
    const { input, plan, run } = cluster(5500);
    const { largest, fits } = estimateStates(input, run, plan, { listed: false });
    expect(largest.bytes).toBeGreaterThan(STATE_LIMIT_BYTES - STATE_MARGIN_BYTES);
    expect(largest.bytes).toBeLessThan(STATE_LIMIT_BYTES);
    expect(largest.state).toContain('in the window');
    expect(fits).toBe(false);
  });

  it('counts the resume fields of the nodes a resumed run restarts, and of 40 (the most in flight) before the earlier run is read', () => {
    const plain = cluster(1000);
    const resumedRun = cluster(1000, ec2Id, typicalRoles, { resumeFrom: 'prod-3.2.0-earlier' });
    const windowBytes = (options: Parameters<typeof estimateStates>[3]) =>
      estimateStates(resumedRun.input, resumedRun.run, resumedRun.plan, options).states[1]?.bytes ?? 0;
    const before = estimateStates(plain.input, plain.run, plain.plan, { listed: false }).states[1]?.bytes ?? 0;
    const resumed = new Map(resumedRun.plan.order.slice(0, 100).map((id) => [id, { step: 'restart' as const, from: '3.1.0' }]));
    const fields = bytes({ resumeAt: 'restart', resumedFrom: '3.1.0' }) - 1;
    // The input itself grows by its resumeFrom field.
    const resumeFrom = bytes(resumedRun.input) - bytes(plain.input);
    expect(windowBytes({ listed: false, resumed }) - before).toBe(resumeFrom + 100 * fields);
    expect(windowBytes({ listed: false }) - before).toBe(resumeFrom + 40 * fields);
  });

  it('counts the execution input the plan task carries when the nodes are listed', () => {
    const roles = Array.from({ length: 8 }, (_, r) => `role-with-a-long-name-${r}`);
    const { nodes, input, plan, run } = cluster(1200, ec2Id, (i) => (i === 0 ? ['primary', ...roles] : roles));
    const listed = estimateStates({ ...input, nodes }, run, plan, { listed: true });
    expect(listed.largest.state).toContain('Plan upgrade');
    expect(listed.largest.budget).toBe(STATE_LIMIT_BYTES);
    expect(listed.fits).toBe(false);
    expect(listed.maxNodes.listed).toBeLessThan(listed.maxNodes.discovered);
    expect(estimateStates(input, run, plan, { listed: false }).fits).toBe(true);
  });
});

describe('refusing a run too large for one execution', () => {
  it('names "nodes", the count, the bytes, the limit, the ceiling for ids of this length, and how to split', () => {
    const { nodes, input, plan, run } = cluster(7000);
    const error = refusal(() => refuseOversizedRun({ ...input, nodes }, run, plan, { listed: true }));
    expect(error.field).toBe('nodes');
    expect(error.message).toMatch(/^nodes: 7,000 nodes would make the run's state [0-9,]+ bytes in the window/);
    expect(error.message).toContain("over the 262,144-byte (256 KiB) Step Functions limit per state, less 49,152 bytes kept for the run's other fields");
    expect(error.message).toMatch(
      /at most 5,[0-9]{3} nodes with ids of 19 characters fit one run\. Nothing was changed: split the cluster into runs of at most 5,[0-9]{3} nodes each, listing each run's nodes in "nodes"/,
    );
  });

  it('names the tag discovery when the nodes were found by tag', () => {
    const { input, plan, run } = cluster(7000);
    const error = refusal(() => refuseOversizedRun(input, run, plan, { listed: false }));
    expect(error.field).toBe('cluster');
    expect(error.message).toMatch(/^cluster: the 7,000 nodes tagged fleet-upgrade:cluster=prod would make/);
    expect(error.message).toMatch(/\(5,[0-9]{3} when found by tag\)/);
  });

  it('lets a run that fits through', () => {
    const { nodes, input, plan, run } = cluster(5000);
    expect(refuseOversizedRun({ ...input, nodes }, run, plan, { listed: true })).toMatchObject({ fits: true, nodes: 5000 });
  });
});
