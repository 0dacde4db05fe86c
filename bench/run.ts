/**
 * `npm run bench`: cost, overhead, window and scale, measured on this machine and written to
 * bench/results.json. Not part of `npm test`. `-- --quick` scales the timed runbook down 4× and
 * skips the 1,000- and 5,000-node runs (for a fast look; the README's numbers come from a full run);
 * `-- --large` runs only the 5,000-node no-op rehearsal (`--large=N`: N nodes) and updates its part of bench/results.json;
 * `-- --capacity-only` prints only the nodes-per-execution computation;
 * `-- --overhead-only=10,100` runs only (c) for those node counts and updates their numbers in bench/results.json
 * (`-- --in-flight=1` or `=10` runs only that half: one step at a time, or 10 DEAs in flight).
 */
import { loadavg } from 'node:os';
import { readFileSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TABLE_NAME, rehearse, type RehearsalOptions, type RehearsalResult } from '../local/rehearsal.js';
import { clusterFileSchema, type ClusterFile } from '../local/cluster-file.js';
import { startLocalDynamoDb } from '../local/dynamodb/start.js';
import { STORE_TABLE_KEYS, createTable, localDynamoDbClient } from '../local/dynamodb/table.js';
import { parseInput } from '../core/input-schema.js';
import { planUpgrade } from '../core/plan.js';
import { capacity, capacityRows } from './capacity.js';
import { synth } from './synth.js';
import { printTable } from './table.js';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

const quick = process.argv.includes('--quick');
const largeArg = process.argv.find((a) => a === '--large' || a.startsWith('--large='));
const largeOnly = largeArg !== undefined;
/** Nodes of the large no-op rehearsal: one execution must handle at least 5,000. */
const LARGE_NODES = largeArg?.startsWith('--large=') ? Number(largeArg.slice('--large='.length)) : 5000;
if (!Number.isInteger(LARGE_NODES) || LARGE_NODES < 2) throw new Error('--large=N takes a whole number of nodes, at least 2');
const ROOT = resolve(import.meta.dirname, '..');
const TIMED = join(ROOT, 'bench', 'runbooks', 'timed');
const WORK = join(ROOT, '.tmp', 'bench');

/** List prices used for (b), us-east-1, as published when this was written (state them with the result). */
const PRICES = {
  stepFunctionsStandardPerTransition: 0.025 / 1000,
  lambdaPerRequest: 0.2 / 1_000_000,
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaMemoryGb: 0.25,
  /** Assumed average billed duration of our handlers (they do a few DynamoDB/SSM calls). */
  lambdaAssumedSeconds: 0.1,
};

const say = (line: string) => process.stderr.write(`${line}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

async function run(
  name: string,
  opts: Omit<RehearsalOptions, 'workdir' | 'dynamodb'>,
  dynamodb: Awaited<ReturnType<typeof startLocalDynamoDb>>,
): Promise<RehearsalResult> {
  const started = performance.now();
  const result = await rehearse({ workdir: join(WORK, name), dynamodb, ...opts });
  say(`  ${name}: ${result.summary.status} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (result.summary.status !== 'SUCCEEDED') throw new Error(`bench run ${name} ended ${result.summary.status}: ${JSON.stringify(result.summary.failure)}`);
  return result;
}

function nodesOf(count: number, roleOf: (i: number) => string[]): ClusterFile['nodes'] {
  return Array.from({ length: count }, (_, i) => ({ id: `n-${String(i + 1).padStart(4, '0')}`, roles: roleOf(i), version: '3.0.0' }));
}

/** (a) + (b): the demo cluster through the real release-dir runbook. */
async function perNode(dynamodb: Awaited<ReturnType<typeof startLocalDynamoDb>>) {
  say('(a, b) transitions, history events and cost per node: demo cluster, release-dir runbook');
  const demo = clusterFileSchema.parse(JSON.parse(readFileSync(join(ROOT, 'examples/demo-cluster.json'), 'utf8')));
  const result = await run('demo', { cluster: { ...demo, cluster: 'bench-demo' }, targetVersion: '3.1.0' }, dynamodb);
  const n = demo.nodes.length;
  const e = result.summary.execution;
  const lambdaCalls = Object.values(result.invocations).reduce((a, b) => a + b, 0);
  const transitionsPerNode = e.stateTransitions / n;
  const lambdaPerNode = lambdaCalls / n;
  const costPerNode =
    transitionsPerNode * PRICES.stepFunctionsStandardPerTransition +
    lambdaPerNode * (PRICES.lambdaPerRequest + PRICES.lambdaArmPerGbSecond * PRICES.lambdaMemoryGb * PRICES.lambdaAssumedSeconds);
  return {
    nodes: n,
    transitionsPerNode: round(transitionsPerNode),
    historyEventsPerNode: round(e.events / n),
    childExecutionEventsPerNode: round(e.childEvents / n),
    lambdaInvocationsPerNode: round(lambdaPerNode),
    invocations: result.invocations,
    costPerNodeUsd: round(costPerNode, 6),
  };
}

const loadAverage = () => loadavg().map((x) => round(x, 1));

/** CPU seconds a process used so far (user + system), from /proc; 0 where there is none. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Steps of the check phase, which runs 10 nodes at a time whatever the concurrency (a Distributed Map). */
const CHECK_STEPS = new Set(['self-update', 'version-check', 'download']);

/**
 * One no-op rehearsal (timed runbook at scale 0): every node of `count` is upgraded, `inFlight` DEA nodes at
 * a time. Overhead per node step = its task state's time minus the time its script ran on the node.
 *
 * With 10 in flight on this 2-core machine a step's time is mostly its wait for CPU behind the nine others
 * (Little's law: time in the system = steps in flight / steps finished per second), so the number measures
 * throughput as much as overhead. With `inFlight` 1 the window's steps run one at a time (only they are
 * counted; the check phase still runs 10 at a time): what the orchestration adds to one step, unqueued.
 */
async function noopRun(count: number, dynamodb: Awaited<ReturnType<typeof startLocalDynamoDb>>, inFlight = 10) {
  const name = `noop-${count}${inFlight === 1 ? '-serial' : ''}`;
  const started = performance.now();
  const load = loadAverage();
  const cpu = process.cpuUsage();
  const engineCpu = cpuSeconds(dynamodb.pid);
  // A long run (1,000 nodes and more) says how far it got: a line every 2,500 finished task states.
  let done = 0;
  const progress = (line: string) => {
    if (!/: ok in |: FAILED after /.test(line) || ++done % 2500 !== 0) return;
    say(`  ${name}: ${done} task states done in ${Math.round((performance.now() - started) / 1000)} s (load ${loadAverage()[0]})`);
  };
  const result = await run(
    name,
    {
      ...(count >= 1000 ? { progress } : {}),
      cluster: { cluster: `bench-${name}`, nodes: nodesOf(count, (i) => (i === 0 ? ['primary'] : ['dea'])) },
      targetVersion: '3.1.0',
      runbookPath: TIMED,
      bareSandboxes: true,
      nodeEnv: { FU_BENCH_SCALE: '0' },
      concurrency: { dea: inFlight },
    },
    dynamodb,
  );
  const used = process.cpuUsage(cpu);
  const counted = inFlight === 1 ? result.steps.filter((s) => !CHECK_STEPS.has(s.step)) : result.steps;
  const over = counted.map((s) => Math.max(0, s.taskMs - s.scriptMs));
  const e = result.summary.execution;
  const allSteps = Math.max(1, result.steps.length);
  return {
    nodes: count,
    inFlight,
    upgraded: result.summary.counts.upgraded,
    nodeSteps: over.length,
    medianMs: round(median(over), 1),
    p95Ms: round(percentile(over, 95), 1),
    medianScriptMs: round(median(counted.map((s) => s.scriptMs)), 1),
    /** CPU the orchestration used per node step (all steps of the run), whatever the machine's load: this process (handlers, state machine, local endpoints) and the local DynamoDB. */
    orchestrationCpuMsPerStep: {
      rehearsal: round((used.user + used.system) / 1000 / allSteps, 1),
      dynamodb: round(((cpuSeconds(dynamodb.pid) - engineCpu) * 1000) / allSteps, 1),
    },
    durationMs: e.durationMs,
    wallSeconds: round((performance.now() - started) / 1000, 1),
    parentEvents: e.events,
    childExecutions: e.childExecutions,
    stateTransitions: e.stateTransitions,
    maxPayloadBytes: e.maxPayloadBytes,
    maxMapResultBytes: e.maxMapResultBytes,
    /** The rehearsal held the run to AWS's limits (payloads, gathered Map results, history, timeouts) and to IAM. */
    limitsEnforced: e.iam.checked > 0,
    iam: e.iam,
    loadAverage: { before: load, after: loadAverage() },
  };
}

/**
 * One DynamoDB request as the handlers make it (SDK client, SigV4, loopback HTTP to the local DynamoDB), one
 * after another on an otherwise idle runtime, on a fresh local DynamoDB (the first 50 of 400 discarded).
 * That is what a short run's requests cost; it is not a floor under (c): warm, in a long run, a request
 * costs 1.0–2.2 ms on the wire plus 0.7–1.0 ms of SDK CPU, and a step has three on its critical path.
 */
async function requestLatency(dynamodb: Awaited<ReturnType<typeof startLocalDynamoDb>>) {
  // The rehearsals' own table (created here if no rehearsal ran yet), under keys of its own.
  const table = TABLE_NAME;
  await createTable(dynamodb.endpoint, STORE_TABLE_KEYS, table);
  const db = DynamoDBDocumentClient.from(localDynamoDbClient(dynamodb.endpoint));
  const times: number[] = [];
  const cpu = process.cpuUsage();
  const engineCpu = cpuSeconds(dynamodb.pid);
  const n = 400;
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      if (i % 2 === 0)
        await db.send(
          new PutCommand({
            TableName: table,
            Item: { pk: `BENCH#latency/NODE#${i % 50}`, sk: 'STEP#upgrade', status: 'RUNNING', startedAt: new Date().toISOString() },
          }),
        );
      else await db.send(new GetCommand({ TableName: table, Key: { pk: `BENCH#latency/NODE#${(i - 1) % 50}`, sk: 'STEP#upgrade' } }));
      if (i >= 50) times.push(performance.now() - t); // the first ones warm the JIT on both sides
    }
  } finally {
    db.destroy();
  }
  const used = process.cpuUsage(cpu);
  return {
    requests: n,
    medianMs: round(median(times), 2),
    p95Ms: round(percentile(times, 95), 2),
    cpuMsPerRequest: { client: round((used.user + used.system) / 1000 / n, 2), dynamodb: round(((cpuSeconds(dynamodb.pid) - engineCpu) * 1000) / n, 2) },
  };
}

type NoopRun = Awaited<ReturnType<typeof noopRun>>;
/** (c) per node count: the window's steps one at a time (the overhead itself), and 10 DEAs in flight (under load). */
type Overhead = { oneAtATime: Record<string, NoopRun>; tenInFlight: Record<string, NoopRun> };

/** (c) orchestration overhead per node step: the no-op runbook (scale 0), task time minus script time. */
async function overhead(dynamodb: Awaited<ReturnType<typeof startLocalDynamoDb>>, counts: number[], inFlight: number[] = [1, 10]): Promise<Overhead> {
  say('(c) local orchestration overhead per node step, no-op runbook');
  const out: Overhead = { oneAtATime: {}, tenInFlight: {} };
  for (const count of counts) {
    for (const n of inFlight) {
      const r = await noopRun(count, dynamodb, n);
      (n === 1 ? out.oneAtATime : out.tenInFlight)[String(count)] = r;
      say(`  ${JSON.stringify(r)}`);
    }
  }
  return out;
}

/** The results.json fields of (c), merged over what an earlier run measured (`--overhead-only` keeps the rest). */
function overheadFields(
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

function overheadRows(c: Overhead): [string, string][] {
  const row =
    (label: string) =>
    ([k, v]: [string, NoopRun]): [string, string] => [
      `orchestration overhead per node step, ${k} nodes, ${label} (median / p95 ms; CPU ms rehearsal + local DynamoDB)`,
      `${v.medianMs} / ${v.p95Ms}; ${v.orchestrationCpuMsPerStep.rehearsal} + ${v.orchestrationCpuMsPerStep.dynamodb} (${v.nodeSteps} steps, ${v.wallSeconds} s, load ${v.loadAverage.before[0]}→${v.loadAverage.after[0]})`,
    ];
  return [...Object.entries(c.oneAtATime).map(row('one at a time')), ...Object.entries(c.tenInFlight).map(row('10 in flight'))];
}

/** Large clusters: one execution upgrades LARGE_NODES no-op nodes, within the history and payload limits. */
async function large(dynamodb: Awaited<ReturnType<typeof startLocalDynamoDb>>) {
  say(`large cluster: ${LARGE_NODES} nodes in one execution, no-op runbook`);
  const r = await noopRun(LARGE_NODES, dynamodb);
  if (r.upgraded !== LARGE_NODES) throw new Error(`the large run upgraded ${r.upgraded} of ${LARGE_NODES} nodes`);
  if (r.parentEvents > 25_000) throw new Error(`the large run's parent history has ${r.parentEvents} events, over the 25,000 limit`);
  if (r.maxPayloadBytes > 256 * 1024) throw new Error(`the large run passed a ${r.maxPayloadBytes}-byte payload, over 256 KiB`);
  if (!r.limitsEnforced || r.iam.denied > 0)
    throw new Error(`the large run was not held to AWS's limits and IAM (IAM: ${r.iam.checked} calls checked, ${r.iam.denied} denied)`);
  return r;
}

/** (d) maintenance window: 30 nodes, timed runbook, tuned as an operator would; the seed's serial window from the same run. */
async function window(dynamodb: Awaited<ReturnType<typeof startLocalDynamoDb>>) {
  const scale = quick ? 0.25 : 1;
  say(`(d) maintenance window, 30-node cluster, timed runbook (scale ${scale})`);
  const roles = [
    ...Array<string[]>(12).fill(['dea']),
    ...Array<string[]>(3).fill(['controller']),
    ...Array<string[]>(3).fill(['router']),
    ...Array<string[]>(3).fill(['base']),
    ['primary'],
    ...Array<string[]>(8).fill(['mysql']),
  ];
  const nodes = nodesOf(30, (i) => roles[i] as string[]);
  const concurrency = { dea: 4, unmatched: 4 };
  const result = await run(
    'window',
    {
      cluster: { cluster: 'bench-window', nodes },
      targetVersion: '3.1.0',
      runbookPath: TIMED,
      bareSandboxes: true,
      nodeEnv: { FU_BENCH_SCALE: String(scale) },
      concurrency,
    },
    dynamodb,
  );
  const m = result.summary.maintenanceMode;
  const on = result.steps.find((s) => s.step === 'maintenance-on');
  const windowMs = Date.parse(m.disabledAt ?? '') - Date.parse(m.enabledAt ?? '') + (on?.taskMs ?? 0);
  // The seed procedure does everything, node after node, inside the window: every step's measured time.
  const serialMs = result.steps.reduce((sum, s) => sum + s.taskMs, 0);
  // Lower bound from the durations alone: maintenance on/off, and per group ceil(n / c) rounds of the window steps.
  const d = (step: string) => ({ download: 6, upgrade: 4, restart: 2 })[step] ?? 1;
  const windowSteps = (retire: boolean) =>
    ['pre-upgrade-validation', ...(retire ? ['retire'] : []), 'backup', 'upgrade', 'restart', 'post-upgrade-validation'].reduce((a, s) => a + d(s), 0);
  const allSteps = (retire: boolean) => d('self-update') + d('version-check') + d('download') + windowSteps(retire);
  const plan = planUpgrade(
    parseInput({ cluster: 'bench-window', targetVersion: '3.1.0', nodes: nodes.map((n) => ({ id: n.id, roles: n.roles })), concurrency }),
    nodes,
    new Map(),
  );
  const oursBound = 2 + plan.groups.reduce((a, g) => a + Math.ceil(g.nodes.length / g.concurrency) * windowSteps(g.role === 'dea'), 0);
  const serialBound = 2 + nodes.reduce((a, n) => a + allSteps(n.roles.includes('dea')), 0);
  return {
    scale,
    concurrency,
    windowSeconds: round(windowMs / 1000, 1),
    serialWindowSeconds: round(serialMs / 1000, 1),
    windowRatio: round(windowMs / serialMs, 3),
    windowLowerBoundRatio: round(oursBound / serialBound, 3),
    lowerBoundSeconds: { ours: oursBound * scale, serial: serialBound * scale },
  };
}

function largeRunOf(l: NoopRun) {
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

function largeRows(l: NoopRun): [string, string][] {
  return [
    [`large run: ${l.nodes} no-op nodes in one execution (s)`, `${round(l.durationMs / 1000, 1)} (load ${l.loadAverage.before[0]}→${l.loadAverage.after[0]})`],
    ['large run: parent history events / child executions', `${l.parentEvents} / ${l.childExecutions}`],
    ['large run: largest state payload / gathered Map result (bytes)', `${l.maxPayloadBytes} / ${l.maxMapResultBytes}`],
    ['large run: held to AWS limits and IAM', `${l.limitsEnforced ? 'yes' : 'no'} (${l.iam.checked} calls checked, ${l.iam.denied} denied)`],
    ['large run: overhead per node step (median / p95 ms)', `${l.medianMs} / ${l.p95Ms}`],
  ];
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  const dynamodb = await startLocalDynamoDb();
  try {
    const cap = capacity();
    say(`capacity: ${JSON.stringify(cap)}`);
    if (process.argv.includes('--capacity-only')) return;
    const file = join(ROOT, 'bench', 'results.json');
    const only = process.argv.find((a) => a.startsWith('--overhead-only='));
    if (only) {
      // Updates only these numbers in bench/results.json (and says when they were measured).
      const request = await requestLatency(dynamodb);
      say(`one DynamoDB request: ${JSON.stringify(request)}`);
      const counts = only.slice('--overhead-only='.length).split(',').filter(Boolean).map(Number);
      const inFlight = process.argv
        .find((a) => a.startsWith('--in-flight='))
        ?.slice('--in-flight='.length)
        .split(',')
        .map(Number);
      if (inFlight?.some((n) => n !== 1 && n !== 10)) throw new Error('--in-flight takes 1, 10 or 1,10');
      const c = await overhead(dynamodb, counts, inFlight);
      const previous = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> &
        Parameters<typeof overheadFields>[1] & { details: Record<string, unknown> };
      const { overhead: details, ...fields } = overheadFields(c, previous);
      writeFileSync(
        file,
        `${JSON.stringify({ ...previous, overheadMeasuredAt: new Date().toISOString(), ...fields, details: { ...previous.details, dynamodbRequest: request, overhead: details } }, null, 2)}\n`,
      );
      printTable(overheadRows(c), file);
      return;
    }
    if (largeOnly) {
      const l = await large(dynamodb);
      const previous = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { details: Record<string, unknown> };
      writeFileSync(
        file,
        `${JSON.stringify({ ...previous, largeRun: largeRunOf(l), maxNodesPerExecution: Math.min(cap.maxNodesPerExecution, l.nodes), details: { ...previous.details, large: l } }, null, 2)}\n`,
      );
      printTable([...largeRows(l), ...capacityRows(cap, l.nodes)], file);
      return;
    }
    const a = await perNode(dynamodb);
    const request = await requestLatency(dynamodb);
    const c = await overhead(dynamodb, quick ? [10, 100] : [10, 100, 1000]);
    const { overhead: overheadDetails, ...overheadResults } = overheadFields(c);
    const d = await window(dynamodb);
    const e = await synth(ROOT, WORK);
    const l = quick ? undefined : await large(dynamodb);
    // Nodes per execution: what a run actually did, bounded by what the payload limits allow.
    const maxNodes = Math.min(cap.maxNodesPerExecution, l?.nodes ?? cap.maxNodesPerExecution);
    const results = {
      measuredAt: new Date().toISOString(),
      machine: `${process.platform} ${process.arch}, node ${process.version}`,
      quick,
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
    const rows: [string, string][] = [
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
      ...Object.entries(e.bundleBytes).map(([k, v]): [string, string] => [`bundle ${k} (KiB, without source map)`, String(round(v / 1024, 1))]),
      ...(l ? largeRows(l) : []),
      ...capacityRows(cap, l?.nodes),
    ];
    printTable(rows, file);
  } finally {
    await dynamodb.stop();
    if (existsSync(WORK)) rmSync(join(WORK, 'cdk.out'), { recursive: true, force: true });
  }
}

await main();
