import { BEFORE_WINDOW, type NodeSummary, type Summary } from '../core/summary.js';
import type { StepId } from '../core/steps.js';
import { PAUSE_HOLDER } from '../core/pause.js';

type RehearsalSummary = Summary & {
  execution?: {
    name: string;
    events: number;
    childEvents?: number;
    childExecutions?: number;
    stateTransitions: number;
    durationMs: number;
    iam?: { checked: number; denied: number };
  };
};

function time(iso: string | null): string {
  return iso === null ? '—' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

const SHORT_STEP: Partial<Record<StepId, string>> = {
  'self-update': 'self-update',
  'version-check': 'check',
  'pre-upgrade-validation': 'pre',
  'post-upgrade-validation': 'post',
};

/** Each step the node ran with its seconds; a failed one is marked so the slow or broken step stands out. */
export function stepTimes(n: NodeSummary): string {
  return n.steps.map((s) => `${SHORT_STEP[s.step] ?? s.step} ${s.seconds?.toFixed(1) ?? '…'}${s.status === 'FAILED' ? ' FAILED' : ''}`).join(', ');
}

/** How long the node's own steps took while maintenance mode was on: the downtime it adds. */
export function windowTime(n: NodeSummary): string {
  const inWindow = n.steps.filter((s) => !BEFORE_WINDOW.includes(s.step));
  if (inWindow.length === 0) return '—';
  return `${inWindow.reduce((sum, s) => sum + (s.seconds ?? 0), 0).toFixed(1)} s`;
}

/** The summary as an operator reads it at the end of a run. */
export function formatSummary(summary: RehearsalSummary, opts: { wholeSeconds?: number } = {}): string {
  const lines: string[] = [];
  // The execution's time is the run's; a rehearsal also spends time setting up, which the operator waited for too.
  const whole = opts.wholeSeconds !== undefined ? `; ${opts.wholeSeconds.toFixed(1)} s with the rehearsal's set-up` : '';
  const took = summary.execution ? ` in ${(summary.execution.durationMs / 1000).toFixed(1)} s${whole}` : '';
  lines.push('');
  lines.push(`Upgrade of ${summary.cluster} to ${summary.targetVersion}: ${summary.status}${took} (run ${summary.runId})`);
  const c = summary.counts;
  // Every status that occurred, so the counts add up to the nodes.
  const counted = [
    `${c.upgraded} upgraded`,
    `${c.skipped} skipped`,
    ...(c.prepared > 0 ? [`${c.prepared} prepared`] : []),
    ...(c.rolledBack > 0 ? [`${c.rolledBack} rolled back`] : []),
    ...(c.needsAttention > 0 ? [`${c.needsAttention} needing attention`] : []),
    `${c.failed} failed`,
    `${c.notStarted} not started`,
    ...(c.notInRun > 0 ? [`${c.notInRun} not in this run`] : []),
  ];
  lines.push(`  ${counted.join(', ')}`);
  lines.push('');
  const rows = [['  NODE', 'ROLES', 'FROM', 'TO', 'STATUS', 'IN WINDOW', 'STEPS (seconds)']];
  for (const id of summary.order) {
    const n = summary.nodes[id];
    if (n === undefined) continue;
    rows.push([`  ${id}`, n.roles.join(',') || '—', n.from ?? '?', n.to ?? '?', n.status, windowTime(n), stepTimes(n)]);
  }
  lines.push(...table(rows));
  lines.push("  IN WINDOW: how long the node's own steps ran while maintenance mode was on (self-update, check and download ran before it)");
  if (summary.notInRun?.length) {
    const more = c.notInRun > summary.notInRun.length ? `, and ${c.notInRun - summary.notInRun.length} more` : '';
    const core = summary.maintenanceMode;
    const coreLeft = core.enabledAt !== null && summary.notInRun.includes(core.node) ? ` (${core.node} only switched maintenance mode)` : '';
    lines.push(`  Not in this run (only): ${summary.notInRun.join(', ')}${more}: left alone${coreLeft}`);
  }
  if (summary.failure !== null) {
    lines.push('');
    lines.push(`Failure: ${summary.failure.message}`);
    if (summary.failure.outputTail !== '') {
      lines.push('  output (last lines):');
      for (const l of summary.failure.outputTail.split('\n')) lines.push(`    ${l}`);
    }
  }
  const decided = summary.order.flatMap((id) => {
    const d = summary.nodes[id]?.decided;
    if (d === undefined) return [];
    const who = d.byTimeout ? 'by timeout (nobody decided in time)' : `by ${d.by}${d.identity ? ` (signed in at ${d.identity.issuer})` : ''}`;
    return [`  ${id}: ${d.decision}, ${who}`];
  });
  if (decided.length > 0) {
    lines.push('');
    lines.push('Decisions:');
    lines.push(...decided);
  }
  const retried = summary.order.flatMap((id) =>
    (summary.nodes[id]?.steps ?? [])
      .filter((s) => s.failedAttempts?.length)
      .map((s) => {
        const failures = (s.failedAttempts ?? []).map(
          (a, i) => `attempt ${i + 1} failed (exit code ${a.exitCode ?? 'none'}${a.outputTail ? `: ${a.outputTail.trim().split('\n').at(-1) ?? ''}` : ''})`,
        );
        return `  ${id} ${s.step}: ${failures.join('; ')}; retried, then ${s.status}`;
      }),
  );
  if (retried.length > 0) {
    lines.push('');
    lines.push('Retried steps:');
    lines.push(...retried);
  }
  if (summary.held?.length) {
    lines.push('');
    lines.push("Held while the operator decided (no node starts while a failed node's question is open):");
    for (const h of summary.held) {
      const forWhat = h.waitedFor.map((w) => (w === PAUSE_HOLDER ? 'the pause' : `the decision on ${w}`)).join(' and ') || 'the decision on another node';
      lines.push(`  ${h.nodeId} waited ${h.seconds.toFixed(1)} s for ${forWhat}${h.started ? ', then started' : ', never started (the run stopped)'}`);
    }
  }
  if (summary.pause) {
    const p = summary.pause;
    const ended =
      p.state === 'RESUMED'
        ? `resumed by ${p.endedBy ?? '?'}`
        : p.state === 'EXPIRED'
          ? 'not resumed within its limit: the run stopped as abort does'
          : 'still paused when the run ended';
    lines.push('');
    lines.push(`Paused by ${p.pausedBy} at ${p.pausedAt}; ${ended} (${p.seconds.toFixed(1)} s paused in all).`);
  }
  lines.push(...afterwards(summary));
  if (summary.warnings.length > 0) {
    lines.push('');
    lines.push('Warnings:');
    for (const w of summary.warnings) lines.push(`  ${w}`);
  }
  lines.push('');
  const m = summary.maintenanceMode;
  lines.push(
    m.enabledAt === null
      ? `Maintenance mode: never enabled${m.node ? ` (core node ${m.node})` : ''}`
      : `Maintenance mode: on ${time(m.enabledAt)}, off ${time(m.disabledAt)} (core node ${m.node})${m.disabledAt === null ? '  ← STILL ON: disable it by hand' : ''}`,
  );
  lines.push(
    `Cluster lock: ${summary.lockReleased ? 'released' : `NOT released — once no run is active: fleet-upgrade unlock --cluster ${summary.cluster} --run ${summary.runId}`}`,
  );
  if (summary.execution) {
    const perNode =
      summary.order.length > 0
        ? ` (${(summary.execution.stateTransitions / summary.order.length).toFixed(1)} transitions, ${(summary.execution.events / summary.order.length).toFixed(1)} events per node)`
        : '';
    const children = summary.execution.childExecutions
      ? `; ${summary.execution.childExecutions} child executions with ${summary.execution.childEvents} events of their own`
      : '';
    lines.push(`Execution: ${summary.execution.stateTransitions} state transitions, ${summary.execution.events} history events${perNode}${children}`);
    const iam = summary.execution.iam;
    if (iam !== undefined)
      lines.push(
        `IAM: ${iam.checked} AWS calls checked against the template's policies, ${iam.denied} denied${iam.denied > 0 ? ' (see the IAM lines above)' : ''}`,
      );
  }
  return lines.join('\n');
}

/**
 * A run that did not finish leaves the cluster on two versions: say so, and what to do next (resume, or put
 * the upgraded nodes back by hand), so nobody reads ROLLED_BACK as "the cluster is as it was".
 */
export function afterwards(summary: Pick<RehearsalSummary, 'status' | 'order' | 'nodes' | 'runId' | 'targetVersion'>): string[] {
  if (summary.status === 'SUCCEEDED' || summary.status === 'PREPARED') return [];
  const byVersion = new Map<string, string[]>();
  for (const id of summary.order) {
    const n = summary.nodes[id];
    if (n === undefined) continue;
    const v = n.to ?? 'unknown (needs attention)';
    byVersion.set(v, [...(byVersion.get(v) ?? []), id]);
  }
  const lines: string[] = [''];
  if (byVersion.size > 1) {
    const parts = [...byVersion.entries()].map(
      ([v, ids]) => `${v}: ${ids.length > 4 ? `${ids.slice(0, 4).join(', ')} and ${ids.length - 4} more` : ids.join(', ')}`,
    );
    lines.push(`The cluster is now on ${byVersion.size} versions: ${parts.join('; ')}.`);
  }
  const upgraded = summary.order.filter((id) => summary.nodes[id]?.status === 'UPGRADED');
  lines.push(
    `Next: fix what failed, then carry on from where this run stopped: fleet-upgrade start --resume-from ${summary.runId} ` +
      `(in the rehearsal: rehearse --resume-from ${summary.runId} with the same --workdir); upgraded nodes are skipped.`,
  );
  if (upgraded.length > 0)
    lines.push(
      `To go back instead, roll the upgraded nodes back on each node with the runbook's rollback step; each kept its backup, named after the run (${summary.runId}).`,
    );
  return lines;
}
