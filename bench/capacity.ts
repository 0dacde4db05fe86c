import { MAX_NODES, parseInput } from '../core/input-schema.js';
import { planUpgrade } from '../core/plan.js';
import { runContext } from '../core/run-context.js';
import { buildSummary, compactSummary } from '../core/summary.js';
import { STATE_LIMIT_BYTES, estimateStates } from '../core/capacity.js';

/** How many nodes fit one execution: history is not the limit (Distributed Maps); the largest state payload (with its margin) is. */
export function capacity() {
  // The run's largest state, as the plan Lambda estimates it before it refuses a cluster (core/capacity.ts).
  const estimate = (count: number, explicitNodes: boolean) => {
    const nodes = Array.from({ length: count }, (_, i) => ({
      id: `i-${(0x0abc0000000000 + i).toString(16).padStart(17, '0')}`,
      roles: [i % 10 === 0 ? 'router' : 'dea'],
    }));
    nodes[0] = { id: nodes[0]?.id ?? 'i-0', roles: ['primary'] };
    const input = parseInput({ cluster: 'prod', targetVersion: '3.2.0' });
    const plan = planUpgrade({ ...input, nodes }, nodes, new Map());
    const run = runContext(input, 'prod-3.2.0-20261124T103000', '2026-11-24T10:30:00Z');
    return estimateStates(explicitNodes ? { ...input, nodes } : input, run, plan, { listed: explicitNodes });
  };
  const stateBytes = (count: number, explicit: boolean) => estimate(count, explicit).largest.bytes;
  const maxNodes = (explicit: boolean) => {
    let lo = 1;
    let hi = MAX_NODES;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (estimate(mid, explicit).fits) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  // The execution's output is the summary, one entry per node with its steps: it must fit 256 KiB too.
  const summaryBytes = (count: number) => {
    const ids = Array.from({ length: count }, (_, i) => `i-${(0x0abc0000000000 + i).toString(16).padStart(17, '0')}`);
    const steps = ['self-update', 'version-check', 'download', 'pre-upgrade-validation', 'backup', 'upgrade', 'restart', 'post-upgrade-validation'] as const;
    const summary = compactSummary(
      buildSummary({
        run: {
          runId: 'prod-3.2.0-20261124T103000',
          cluster: 'prod',
          targetVersion: '3.2.0',
          coreNode: ids[0] ?? '',
          order: ids,
          roles: Object.fromEntries(ids.map((id) => [id, ['dea']])),
          plannedFrom: {},
          startedAt: '2026-11-24T10:30:00Z',
        },
        checkpoints: ids.flatMap((nodeId) =>
          steps.map((step) => ({
            nodeId,
            step,
            status: 'SUCCEEDED' as const,
            exitCode: 0,
            warnings: [],
            startedAt: '2026-11-24T10:30:00Z',
            finishedAt: '2026-11-24T10:30:01Z',
          })),
        ),
        outcomes: ids.map((nodeId) => ({ nodeId, status: 'UPGRADED' as const, from: '3.1.0', to: '3.2.0', at: '2026-11-24T10:31:00Z' })),
        lockReleased: true,
        finishedAt: '2026-11-24T11:00:00Z',
      }),
    );
    return Buffer.byteLength(JSON.stringify(summary));
  };
  let summaryMax = 1;
  while (summaryMax < MAX_NODES && summaryBytes(summaryMax * 2) <= STATE_LIMIT_BYTES) summaryMax *= 2;
  summaryMax = Math.min(summaryMax, MAX_NODES);
  for (let step = summaryMax / 2; step >= 1; step /= 2)
    if (summaryMax + step <= MAX_NODES && summaryBytes(summaryMax + step) <= STATE_LIMIT_BYTES) summaryMax += step;
  const payload = maxNodes(false);
  return {
    maxNodesPerExecution: Math.min(payload, summaryMax),
    limitedBy: summaryMax < payload ? 'the summary (execution output, 256 KiB)' : 'the state payload (256 KiB)',
    maxNodesByStatePayload: payload,
    maxNodesByStatePayloadWithNodesInInput: maxNodes(true),
    maxNodesBySummary: summaryMax,
    stateBytesAt1000: stateBytes(1000, false),
    summaryBytesAt1000: summaryBytes(1000),
  };
}

/** The bench table's row for the nodes per execution. */
export function capacityRows(cap: ReturnType<typeof capacity>, ranNodes: number | undefined): [string, string][] {
  const ran = ranNodes === undefined ? 'not run here' : `${ranNodes} run in one execution`;
  const nodes = ranNodes === undefined ? cap.maxNodesPerExecution : Math.min(cap.maxNodesPerExecution, ranNodes);
  const bound = `payload bound ${cap.maxNodesPerExecution}, limited by ${cap.limitedBy}`;
  return [['max nodes per execution', `${nodes} (${ran}; ${bound}; ${cap.maxNodesByStatePayloadWithNodesInInput} with nodes listed in the input)`]];
}
