import { describe, expect, it } from 'vitest';
import type { Decision } from '../../core/approval.js';
import type { ClusterFile } from '../../local/cluster-file.js';
import type { RehearsalOptions, RehearsalResult } from '../../local/rehearsal.js';
import { formatSummary } from '../../cli/format-summary.js';
import { rehearsalWorld, smallCluster } from '../support/rehearsal-world.js';

/**
 * A failed node holds the run (issue 23): with DEAs upgraded two or three at a time, a failure stops every
 * node that has not started until the decision is applied; in-flight nodes finish their current node. The
 * rehearsal's scripted operator answers once the nodes in flight have settled, so nodes are held meanwhile.
 */
const cluster = (name: string): ClusterFile => smallCluster(`hold-${name}`, ['dea-1', 'dea-2', 'dea-3', 'dea-4', 'dea-5']);
const rehearseChecked = rehearsalWorld('hold');

async function run(name: string, opts: Partial<RehearsalOptions>): Promise<{ r: RehearsalResult; c: ClusterFile }> {
  const c = cluster(name);
  return { r: await rehearseChecked(c, opts), c };
}

const failDea1 = (decision: Decision): Partial<RehearsalOptions> => ({
  concurrency: { dea: 2 },
  failures: [{ nodeId: 'dea-1', step: 'upgrade', times: Number.POSITIVE_INFINITY }],
  decisions: [decision, 'rollback'],
});
const statuses = (r: RehearsalResult) => Object.fromEntries(r.summary.order.map((id) => [id, r.summary.nodes[id]?.status]));
const later = ['dea-3', 'dea-4', 'dea-5', 'controller-1', 'core-1'];

describe('a failed node holds the run: no node starts while the operator decides', () => {
  it('rollback: ROLLED_BACK; the DEA in flight finished at the target, every node that had not started is at its old version', async () => {
    const { r } = await run('rollback', failDea1('rollback'));
    expect(r.summary.status).toBe('ROLLED_BACK');
    expect(statuses(r)).toEqual({ 'dea-1': 'ROLLED_BACK', 'dea-2': 'UPGRADED', ...Object.fromEntries(later.map((id) => [id, 'NOT_STARTED'])) });
    // dea-3 took dea-2's slot while the question was open: it waited, then never started.
    expect(r.summary.held).toEqual([{ nodeId: 'dea-3', seconds: expect.any(Number), waitedFor: ['dea-1'], started: false }]);
    expect(formatSummary(r.summary)).toMatch(/dea-3 waited \d+\.\d s for the decision on dea-1, never started/);
    // The counts add up to the seven nodes.
    expect(formatSummary(r.summary)).toContain('1 upgraded, 0 skipped, 1 rolled back, 0 failed, 5 not started');
    // The approval email listed who waits and who finishes meanwhile.
    const email = r.notifications.find((n) => n.attributes.kind === 'approval')?.message ?? '';
    expect(email).toContain('Held until you decide (not started): dea-3, dea-4, dea-5, controller-1, core-1');
    expect(email).toContain('Finishing their current node meanwhile: dea-2');
  });

  it('skip: PARTIAL; dea-1 at its old version, every other node at the target, and the summary shows who waited', async () => {
    const { r } = await run('skip', failDea1('skip'));
    expect(r.summary.status).toBe('PARTIAL');
    expect(statuses(r)).toEqual({ 'dea-1': 'ROLLED_BACK', 'dea-2': 'UPGRADED', ...Object.fromEntries(later.map((id) => [id, 'UPGRADED'])) });
    expect(r.summary.held).toEqual([{ nodeId: 'dea-3', seconds: expect.any(Number), waitedFor: ['dea-1'], started: true }]);
    expect(r.summary.held?.[0]?.seconds).toBeGreaterThan(0);
  });

  it('abort: ABORTED; only the node in flight changed', async () => {
    const { r } = await run('abort', failDea1('abort'));
    expect(r.summary.status).toBe('ABORTED');
    expect(statuses(r)).toEqual({ 'dea-1': 'NEEDS_ATTENTION', 'dea-2': 'UPGRADED', ...Object.fromEntries(later.map((id) => [id, 'NOT_STARTED'])) });
  });

  it('retry (three at a time, restart fails once): SUCCEEDED, every node at the target, the others waited for the retried node', async () => {
    const { r } = await run('retry', { concurrency: { dea: 3 }, failures: [{ nodeId: 'dea-2', step: 'restart', times: 1 }], decisions: ['retry'] });
    expect(r.summary.status).toBe('SUCCEEDED');
    expect(Object.values(statuses(r))).toEqual(Array(7).fill('UPGRADED'));
    // dea-1 and dea-3 finish while dea-2's question is open; the DEAs after them wait (which ones depends on
    // whether a slot freed before the question was asked: the invariants check none started while it was open).
    expect(r.summary.held?.length).toBeGreaterThan(0);
    for (const h of r.summary.held ?? []) expect(h).toMatchObject({ nodeId: expect.stringMatching(/^dea-[45]$/), waitedFor: ['dea-2'], started: true });
  });

  it('two nodes failing at once both ask; the run goes on only when both are answered', async () => {
    const { r } = await run('both', {
      concurrency: { dea: 2 },
      failures: [
        { nodeId: 'dea-1', step: 'upgrade', times: Number.POSITIVE_INFINITY },
        { nodeId: 'dea-2', step: 'upgrade', times: Number.POSITIVE_INFINITY },
      ],
      decisions: ['skip', 'skip'],
    });
    expect(r.notifications.filter((n) => n.attributes.kind === 'approval')).toHaveLength(2);
    expect(r.summary.status).toBe('PARTIAL');
    expect(statuses(r)).toMatchObject({ 'dea-1': 'ROLLED_BACK', 'dea-2': 'ROLLED_BACK', 'dea-3': 'UPGRADED', 'core-1': 'UPGRADED' });
    // Whether dea-3 had to wait depends on which decision lands first; the invariants check that no node
    // started while either question was open, and whoever waited started after both were answered.
    for (const h of r.summary.held ?? []) expect(h).toMatchObject({ started: true, waitedFor: expect.arrayContaining([expect.stringMatching(/^dea-[12]$/)]) });
  });
});
