import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseInput } from '../core/input-schema.js';
import { planUpgrade } from '../core/plan.js';
import { clusterFileSchema, type ClusterFile } from '../local/cluster-file.js';
import type { LocalDynamoDb } from '../local/dynamodb/start.js';
import { STORE_TABLE_KEYS, createTable, localDynamoDbClient } from '../local/dynamodb/table.js';
import { TABLE_NAME, rehearse, type RehearsalOptions, type RehearsalResult } from '../local/rehearsal.js';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { cpuSeconds, loadAverage, median, percentile, round } from './stats.js';

/** Where the scenarios run: the project, the workdir under it, and the one local DynamoDB every rehearsal of the bench shares. */
export interface Bench {
  root: string;
  work: string;
  dynamodb: LocalDynamoDb;
}

/** The benchmarks' runbook: each step sleeps its duration times FU_BENCH_SCALE (0: a no-op). */
const timedRunbook = (bench: Bench) => join(bench.root, 'bench', 'runbooks', 'timed');

export const say = (line: string) => process.stderr.write(`${line}\n`);

/** List prices used for (b), us-east-1, as published when this was written (state them with the result). */
export const PRICES = {
  stepFunctionsStandardPerTransition: 0.025 / 1000,
  lambdaPerRequest: 0.2 / 1_000_000,
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaMemoryGb: 0.25,
  /** Assumed average billed duration of our handlers (they do a few DynamoDB/SSM calls). */
  lambdaAssumedSeconds: 0.1,
};

/** One rehearsal of the bench, which must succeed. */
async function run(bench: Bench, name: string, opts: Omit<RehearsalOptions, 'workdir' | 'dynamodb'>): Promise<RehearsalResult> {
  const started = performance.now();
  const result = await rehearse({ workdir: join(bench.work, name), dynamodb: bench.dynamodb, ...opts });
  say(`  ${name}: ${result.summary.status} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (result.summary.status !== 'SUCCEEDED') throw new Error(`bench run ${name} ended ${result.summary.status}: ${JSON.stringify(result.summary.failure)}`);
  return result;
}

function nodesOf(count: number, roleOf: (i: number) => string[]): ClusterFile['nodes'] {
  return Array.from({ length: count }, (_, i) => ({ id: `n-${String(i + 1).padStart(4, '0')}`, roles: roleOf(i), version: '3.0.0' }));
}

/** (a) + (b): the demo cluster through the real release-dir runbook. */
export async function perNode(bench: Bench) {
  say('(a, b) transitions, history events and cost per node: demo cluster, release-dir runbook');
  const demo = clusterFileSchema.parse(JSON.parse(readFileSync(join(bench.root, 'examples/demo-cluster.json'), 'utf8')));
  const result = await run(bench, 'demo', { cluster: { ...demo, cluster: 'bench-demo' }, targetVersion: '3.1.0' });
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
async function noopRun(bench: Bench, count: number, inFlight = 10) {
  const { dynamodb } = bench;
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
  const result = await run(bench, name, {
    ...(count >= 1000 ? { progress } : {}),
    cluster: { cluster: `bench-${name}`, nodes: nodesOf(count, (i) => (i === 0 ? ['primary'] : ['dea'])) },
    targetVersion: '3.1.0',
    runbookPath: timedRunbook(bench),
    bareSandboxes: true,
    nodeEnv: { FU_BENCH_SCALE: '0' },
    concurrency: { dea: inFlight },
  });
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
export async function requestLatency(dynamodb: LocalDynamoDb) {
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

export type NoopRun = Awaited<ReturnType<typeof noopRun>>;
/** (c) per node count: the window's steps one at a time (the overhead itself), and 10 DEAs in flight (under load). */
export type Overhead = { oneAtATime: Record<string, NoopRun>; tenInFlight: Record<string, NoopRun> };

/** (c) orchestration overhead per node step: the no-op runbook (scale 0), task time minus script time. */
export async function overhead(bench: Bench, counts: number[], inFlight: number[] = [1, 10]): Promise<Overhead> {
  say('(c) local orchestration overhead per node step, no-op runbook');
  const out: Overhead = { oneAtATime: {}, tenInFlight: {} };
  for (const count of counts) {
    for (const n of inFlight) {
      const r = await noopRun(bench, count, n);
      (n === 1 ? out.oneAtATime : out.tenInFlight)[String(count)] = r;
      say(`  ${JSON.stringify(r)}`);
    }
  }
  return out;
}

/** Large clusters: one execution upgrades `nodes` no-op nodes, within the history and payload limits. */
export async function large(bench: Bench, nodes: number) {
  say(`large cluster: ${nodes} nodes in one execution, no-op runbook`);
  const r = await noopRun(bench, nodes);
  if (r.upgraded !== nodes) throw new Error(`the large run upgraded ${r.upgraded} of ${nodes} nodes`);
  if (r.parentEvents > 25_000) throw new Error(`the large run's parent history has ${r.parentEvents} events, over the 25,000 limit`);
  if (r.maxPayloadBytes > 256 * 1024) throw new Error(`the large run passed a ${r.maxPayloadBytes}-byte payload, over 256 KiB`);
  if (!r.limitsEnforced || r.iam.denied > 0)
    throw new Error(`the large run was not held to AWS's limits and IAM (IAM: ${r.iam.checked} calls checked, ${r.iam.denied} denied)`);
  return r;
}

/** (d) maintenance window: 30 nodes, timed runbook, tuned as an operator would; the seed's serial window from the same run. */
export async function window(bench: Bench, quick: boolean) {
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
  const result = await run(bench, 'window', {
    cluster: { cluster: 'bench-window', nodes },
    targetVersion: '3.1.0',
    runbookPath: timedRunbook(bench),
    bareSandboxes: true,
    nodeEnv: { FU_BENCH_SCALE: String(scale) },
    concurrency,
  });
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
