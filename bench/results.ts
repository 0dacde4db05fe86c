import { readFileSync, writeFileSync } from 'node:fs';
import { capacityRows, type capacity } from './capacity.js';
import type { synth } from './synth.js';
import { PRICES, type NoopRun, type Overhead, type perNode, type requestLatency, type window } from './scenarios.js';
import { loadAverage, round } from './stats.js';

type Row = [string, string];
type Capacity = ReturnType<typeof capacity>;
type RequestLatency = Awaited<ReturnType<typeof requestLatency>>;

/** The results.json fields of (c), merged over what an earlier run measured (`--overhead-only` keeps the rest). */
export function overheadFields(
  c: Overhead,
  previous: Partial<Record<'overheadMsPerNodeStep' | 'overheadMsPerNodeStepTenInFlight' | 'orchestrationCpuMsPerNodeStep', Record<string, number>>> & {
    details?: { overhead?: Partial<Overhead> };
  } = {},
) {
  const medians = (runs: Record<string, NoopRun>) => Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.medianMs]));
  const cpu = (runs: Record<string, NoopRun>) =>
    Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, round(v.orchestrationCpuMsPerStep.rehearsal + v.orchestrationCpuMsPerStep.dynamodb, 1)]));
  return {
    overheadMsPerNodeStep: { ...previous.overheadMsPerNodeStep, ...medians(c.oneAtATime) },
    overheadMsPerNodeStepTenInFlight: { ...previous.overheadMsPerNodeStepTenInFlight, ...medians(c.tenInFlight) },
    orchestrationCpuMsPerNodeStep: { ...previous.orchestrationCpuMsPerNodeStep, ...cpu(c.tenInFlight) },
    overhead: {
      oneAtATime: { ...previous.details?.overhead?.oneAtATime, ...c.oneAtATime },
      tenInFlight: { ...previous.details?.overhead?.tenInFlight, ...c.tenInFlight },
    },
  };
}

export function overheadRows(c: Overhead): Row[] {
  const row =
    (label: string) =>
    ([k, v]: [string, NoopRun]): Row => {
      const cpu = `${v.orchestrationCpuMsPerStep.rehearsal} + ${v.orchestrationCpuMsPerStep.dynamodb}`;
      const load = `${v.loadAverage.before[0]}→${v.loadAverage.after[0]}`;
      return [
        `orchestration overhead per node step, ${k} nodes, ${label} (median / p95 ms; CPU ms rehearsal + local DynamoDB)`,
        `${v.medianMs} / ${v.p95Ms}; ${cpu} (${v.nodeSteps} steps, ${v.wallSeconds} s, load ${load})`,
      ];
    };
  return [...Object.entries(c.oneAtATime).map(row('one at a time')), ...Object.entries(c.tenInFlight).map(row('10 in flight'))];
}

export function largeRunOf(l: NoopRun) {
  return {
    nodes: l.nodes,
    durationMs: l.durationMs,
    parentEvents: l.parentEvents,
    childExecutions: l.childExecutions,
    maxPayloadBytes: l.maxPayloadBytes,
    maxMapResultBytes: l.maxMapResultBytes,
    limitsEnforced: l.limitsEnforced,
    iam: l.iam,
    overheadMedianMs: l.medianMs,
    loadAverage: l.loadAverage,
  };
}

export function largeRows(l: NoopRun): Row[] {
  return [
    [`large run: ${l.nodes} no-op nodes in one execution (s)`, `${round(l.durationMs / 1000, 1)} (load ${l.loadAverage.before[0]}→${l.loadAverage.after[0]})`],
    ['large run: parent history events / child executions', `${l.parentEvents} / ${l.childExecutions}`],
    ['large run: largest state payload / gathered Map result (bytes)', `${l.maxPayloadBytes} / ${l.maxMapResultBytes}`],
    ['large run: held to AWS limits and IAM', `${l.limitsEnforced ? 'yes' : 'no'} (${l.iam.checked} calls checked, ${l.iam.denied} denied)`],
    ['large run: overhead per node step (median / p95 ms)', `${l.medianMs} / ${l.p95Ms}`],
  ];
}

/** What a full run measured, scenario by scenario. */
export interface FullRun {
  quick: boolean;
  perNode: Awaited<ReturnType<typeof perNode>>;
  request: RequestLatency;
  overhead: Overhead;
  window: Awaited<ReturnType<typeof window>>;
  synth: Awaited<ReturnType<typeof synth>>;
  /** Absent with --quick. */
  large: NoopRun | undefined;
  capacity: Capacity;
}

/** Writes a full run's results.json (the headline numbers, then every detail) and prints its table. */
export function writeFullRun(file: string, m: FullRun): void {
  const { perNode: a, request, overhead: c, window: d, synth: e, large: l, capacity: cap } = m;
  const { overhead: overheadDetails, ...overheadResults } = overheadFields(c);
  // Nodes per execution: what a run actually did, bounded by what the payload limits allow.
  const maxNodes = Math.min(cap.maxNodesPerExecution, l?.nodes ?? cap.maxNodesPerExecution);
  const results = {
    measuredAt: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}`,
    quick: m.quick,
    transitionsPerNode: a.transitionsPerNode,
    historyEventsPerNode: a.historyEventsPerNode,
    costPerNodeUsd: a.costPerNodeUsd,
    loadAverage: loadAverage(),
    ...overheadResults,
    windowRatio: d.windowRatio,
    windowLowerBoundRatio: d.windowLowerBoundRatio,
    maxNodesPerExecution: l ? maxNodes : cap.maxNodesPerExecution,
    ...(l ? { largeRun: largeRunOf(l) } : {}),
    details: {
      perNode: a,
      prices: PRICES,
      dynamodbRequest: request,
      overhead: overheadDetails,
      window: d,
      synth: e,
      capacity: cap,
      ...(l ? { large: l } : {}),
    },
  };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  printTable(
    [
      ['state transitions per node (demo, all incl. child executions)', String(a.transitionsPerNode)],
      ['parent history events per node (demo)', String(a.historyEventsPerNode)],
      ['child-execution history events per node (demo)', String(a.childExecutionEventsPerNode)],
      ['Lambda invocations per node (demo)', String(a.lambdaInvocationsPerNode)],
      ['estimated Step Functions + Lambda cost per node (USD)', String(a.costPerNodeUsd)],
      ...overheadRows(c),
      [
        'one DynamoDB request, handler client → local DynamoDB (median / p95 ms; CPU ms client + local DynamoDB)',
        `${request.medianMs} / ${request.p95Ms}; ${request.cpuMsPerRequest.client} + ${request.cpuMsPerRequest.dynamodb}`,
      ],
      ['maintenance window, ours / serial seed (s)', `${d.windowSeconds} / ${d.serialWindowSeconds}`],
      ['window ratio (measured) vs lower bound', `${d.windowRatio} vs ${d.windowLowerBoundRatio}`],
      ['cdk synth (s)', String(e.synthSeconds)],
      ...Object.entries(e.bundleBytes).map(([k, v]): Row => [`bundle ${k} (KiB, without source map)`, String(round(v / 1024, 1))]),
      ...(l ? largeRows(l) : []),
      ...capacityRows(cap, l?.nodes),
    ],
    file,
  );
}

/** `--overhead-only`: updates only (c) and the request latency in results.json, saying when they were measured. */
export function writeOverheadOnly(file: string, c: Overhead, request: RequestLatency): void {
  const previous = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> &
    Parameters<typeof overheadFields>[1] & { details: Record<string, unknown> };
  const { overhead: details, ...fields } = overheadFields(c, previous);
  const updated = {
    ...previous,
    overheadMeasuredAt: new Date().toISOString(),
    ...fields,
    details: { ...previous.details, dynamodbRequest: request, overhead: details },
  };
  writeFileSync(file, `${JSON.stringify(updated, null, 2)}\n`);
  printTable(overheadRows(c), file);
}

/** `--large`: updates only the large run and the nodes per execution it proves in results.json. */
export function writeLargeOnly(file: string, l: NoopRun, cap: Capacity): void {
  const previous = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { details: Record<string, unknown> };
  const updated = {
    ...previous,
    largeRun: largeRunOf(l),
    maxNodesPerExecution: Math.min(cap.maxNodesPerExecution, l.nodes),
    details: { ...previous.details, large: l },
  };
  writeFileSync(file, `${JSON.stringify(updated, null, 2)}\n`);
  printTable([...largeRows(l), ...capacityRows(cap, l.nodes)], file);
}

/** Prints the bench's results as two aligned columns, then where they were written. */
function printTable(rows: Row[], file: string): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n\nwritten to ${file}\n`);
}
