import { describe, expect, it } from 'vitest';
import type { ClusterFile } from '../../local/cluster-file.js';
import type { RehearsalOptions, RehearsalResult } from '../../local/rehearsal.js';
import { formatSummary } from '../../cli/format-summary.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient } from '../../adapters/aws-clients.js';
import { WINDOW_STEPS } from '../../core/steps.js';
import { PAUSE_HOLDER } from '../../core/pause.js';
import { rehearsalWorld, smallCluster } from '../support/rehearsal-world.js';

/**
 * `fleet-upgrade pause` / `resume` (issue 19 item 4), played by the rehearsal's scripted operator with the
 * CLI's own calls: the node in flight finishes, no node starts while paused, and the run goes on after resume
 * (or stops as abort does once the pause passes its limit).
 */
const cluster = (name: string): ClusterFile => smallCluster(`pause-${name}`, ['dea-1', 'dea-2', 'dea-3']);
const rehearseChecked = rehearsalWorld('pause');

async function run(name: string, opts: Partial<RehearsalOptions>): Promise<{ r: RehearsalResult; lines: string[] }> {
  const lines: string[] = [];
  const r = await rehearseChecked(cluster(name), { progress: (l) => lines.push(l), ...opts });
  return { r, lines };
}

/** When each node's first window step started (its upgrade began). */
async function windowStarts(r: RehearsalResult): Promise<Map<string, number>> {
  const starts = new Map<string, number>();
  for (const c of (await new FleetStore(documentClient(), r.tableName).runRecords(r.summary.runId)).checkpoints) {
    if (WINDOW_STEPS.includes(c.step)) starts.set(c.nodeId, Math.min(starts.get(c.nodeId) ?? Number.POSITIVE_INFINITY, Date.parse(c.startedAt)));
  }
  return starts;
}
const statuses = (r: RehearsalResult) => Object.fromEntries(r.summary.order.map((id) => [id, r.summary.nodes[id]?.status]));

describe('pause and resume: in-flight nodes finish, no node starts until resume', () => {
  it('pause after dea-1 started, resume 4 s later: dea-1 finished while paused, dea-2 waited in "Paused", the run SUCCEEDED', async () => {
    const { r, lines } = await run('resume', { pauseAfter: 'dea-1', resumeAfterSeconds: 4 });
    expect(r.summary.status).toBe('SUCCEEDED');
    expect(Object.values(statuses(r))).toEqual(Array(5).fill('UPGRADED'));
    expect(r.summary.pause).toMatchObject({ state: 'RESUMED', pausedBy: expect.stringContaining('--pause-after') });
    expect(r.summary.pause?.seconds).toBeGreaterThanOrEqual(3.5);
    // The next node waited for the pause, then started; progress said PAUSED.
    expect(r.summary.held).toEqual([{ nodeId: 'dea-2', seconds: expect.any(Number), waitedFor: [PAUSE_HOLDER], started: true }]);
    expect(lines.some((l) => /dea-2\s+PAUSED: waiting for fleet-upgrade resume/.test(l))).toBe(true);
    expect(formatSummary(r.summary)).toMatch(/dea-2 waited \d+\.\d s for the pause, then started/);
    // No node began its upgrade while the run was paused, except dea-1, already in flight.
    const pausedAt = Date.parse(r.summary.pause?.pausedAt ?? '');
    const resumedAt = pausedAt + (r.summary.pause?.seconds ?? 0) * 1000;
    for (const [id, t] of await windowStarts(r)) if (id !== 'dea-1') expect(t < pausedAt || t > resumedAt - 100, `${id} started while paused`).toBe(true);
  });

  it('a pause not resumed within pauseLimitMinutes stops the run as abort does: ABORTED, dea-1 at the target, the rest untouched', async () => {
    const { r } = await run('limit', { pauseAfter: 'dea-1', pauseLimitMinutes: 0.1 });
    expect(r.summary.status).toBe('ABORTED');
    expect(statuses(r)).toEqual({
      'dea-1': 'UPGRADED',
      'dea-2': 'NOT_STARTED',
      'dea-3': 'NOT_STARTED',
      'controller-1': 'NOT_STARTED',
      'core-1': 'NOT_STARTED',
    });
    expect(r.summary.pause).toMatchObject({ state: 'EXPIRED' });
    expect(r.summary.failure).toMatchObject({ error: 'PauseLimitPassed', message: expect.stringContaining('not resumed within its limit (6 s') });
    expect(r.summary.maintenanceMode.disabledAt).not.toBeNull();
    expect(r.summary.lockReleased).toBe(true);
    expect(formatSummary(r.summary)).toContain('not resumed within its limit: the run stopped as abort does');
  });
});
