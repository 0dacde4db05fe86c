import { describe, expect, it } from 'vitest';
import type { ClusterFile } from '../../local/cluster-file.js';
import type { RehearsalOptions, RehearsalResult } from '../../local/rehearsal.js';
import { rehearsalWorld, smallCluster } from '../support/rehearsal-world.js';

/**
 * Canary, then widen (issue 19 item 2): after the first N nodes, the run asks continue or abort through the
 * approval page (the scripted operator signs in and answers as --decision says) before any other node starts.
 */
const cluster = (name: string): ClusterFile => smallCluster(`canary-${name}`, ['dea-1', 'dea-2', 'dea-3']);
const rehearseChecked = rehearsalWorld('canary');

async function run(name: string, opts: Partial<RehearsalOptions>): Promise<RehearsalResult> {
  return rehearseChecked(cluster(name), opts);
}
const statuses = (r: RehearsalResult) => Object.fromEntries(r.summary.order.map((id) => [id, r.summary.nodes[id]?.status]));

describe('canary, then widen', () => {
  it('--canary 1 --decision continue (DEAs two at a time): SUCCEEDED, every node at the target; the other DEA waited for the decision', async () => {
    const r = await run('continue', { canary: 1, decisions: ['continue'], concurrency: { dea: 2 } });
    expect(r.summary.status).toBe('SUCCEEDED');
    expect(Object.values(statuses(r))).toEqual(Array(5).fill('UPGRADED'));
    // Both DEAs reach the gate at once: whichever claims the one slot first is the canary, the other is held.
    const canary = r.summary.canary?.nodes[0] ?? '';
    expect(['dea-1', 'dea-2']).toContain(canary);
    const other = canary === 'dea-1' ? 'dea-2' : 'dea-1';
    expect(r.summary.canary).toMatchObject({ nodes: [canary], decision: 'continue', decidedBy: 'alice@example.com', byTimeout: false });
    expect(r.summary.held).toEqual([{ nodeId: other, seconds: expect.any(Number), waitedFor: [canary], started: true }]);
    const email = r.notifications.find((n) => n.attributes.kind === 'approval');
    expect(email?.subject).toBe('fleet-upgrade: canary of canary-continue upgraded to 3.1.0: continue or abort?');
    expect(email?.message).toContain(`Upgraded so far (the canary): ${canary}`);
  });

  it('--canary 1 --decision abort: ABORTED, one node at the target, the rest untouched', async () => {
    const r = await run('abort', { canary: 1, decisions: ['abort'] });
    expect(r.summary.status).toBe('ABORTED');
    expect(statuses(r)).toEqual({
      'dea-1': 'UPGRADED',
      'dea-2': 'NOT_STARTED',
      'dea-3': 'NOT_STARTED',
      'controller-1': 'NOT_STARTED',
      'core-1': 'NOT_STARTED',
    });
    expect(r.summary.failure).toMatchObject({
      error: 'CanaryAborted',
      message: 'the run stopped: abort decided after the canary (dea-1) by alice@example.com',
    });
    expect(r.summary.maintenanceMode.disabledAt).not.toBeNull();
  });
});
