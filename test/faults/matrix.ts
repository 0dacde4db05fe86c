import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Decision } from '../../core/approval.js';
import type { StepId } from '../../core/steps.js';
import type { ClusterFile } from '../../local/cluster-file.js';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { rehearse, type RehearsalOptions } from '../../local/rehearsal.js';
import { stopService } from '../../local/sandbox.js';
import type { FaultKind } from '../../local/ssm-endpoint.js';
import { invariantViolations } from '../support/invariants.js';
import { recordEarlierRun } from '../support/earlier-run.js';
import { groupByRole } from '../../core/role-order.js';

/**
 * The faults of issue 7's matrix, plus the status-event faults of its "lost or late events", plus the window
 * cutoff (issue 19: no fault on a node, the clock runs out).
 */
export const FAULTS = [
  'fails',
  'fails-once',
  'hangs',
  'offline',
  'checksum',
  'lambda-throws',
  'lost-event',
  'duplicate-event',
  'stray-event',
  'cutoff',
  'gate',
] as const;
export type Fault = (typeof FAULTS)[number];

/** One role per group of the default order; `mysql` matches no role (the `unmatched` group). */
export const MATRIX_ROLES = ['dea', 'controller', 'router', 'base', 'primary', 'mysql'] as const;
const DECISIONS: Decision[] = ['retry', 'rollback', 'skip', 'abort'];
const WINDOW: StepId[] = ['pre-upgrade-validation', 'retire', 'backup', 'upgrade', 'restart', 'post-upgrade-validation'];
const CHECKS: StepId[] = ['self-update', 'version-check', 'download'];
/** Faults that make a step fail (the operator is asked inside the window). */
const FAILING: Fault[] = ['fails', 'fails-once', 'hangs', 'offline', 'lambda-throws'];
/** Faults of the status event only: the step itself succeeded. */
const EVENT_FAULTS: Fault[] = ['lost-event', 'duplicate-event', 'stray-event'];

export interface FaultCase {
  id: string;
  role: string;
  node: string;
  step: StepId;
  fault: Fault;
  /** The operator's answer (then `rollback` if asked again). */
  decision?: Decision;
  /** Post-upgrade validation fails first, so the rollback meets the fault. */
  viaRollback?: boolean;
  /** DEAs upgrade two at a time: the failure holds the nodes that have not started (issue 23). */
  parallel?: boolean;
  /** `only` names the faulted node alone: a node beside it (and the core node) stays out of the run, untouched. */
  only?: boolean;
  /** With ignoreInspectFailures: a failed validation is a warning and the run goes on (issue 19). */
  ignored?: boolean;
  /**
   * Unattended (onFailure rollback-and-continue, issue 19): `budget` within maxFailedNodes 1; `over-budget`:
   * a second node fails too (DEAs in parallel), or maxFailedNodes is 0.
   */
  policy?: 'budget' | 'over-budget';
  /** Fault `gate`: what holds the run instead of a failure (issue 19): the canary's or a health alarm's question, or a pause. */
  gate?: 'canary-continue' | 'canary-abort' | 'health-continue' | 'health-abort' | 'pause-resume' | 'pause-expires';
  expectedStatus: string;
}

const nodeOf = (role: string) => (role === 'primary' ? 'core-1' : `${role}-1`);

/** Fails once, or for every attempt the state machine makes of one entry (1 + 2 transient retries). */
const ONE_ENTRY_OF_CRASHES = 3;

/** A case's id: what it does, in the words of `--filter` (`dea-1 upgrade fails skip`, `dea-1 upgrade fails budget`). */
const withId = (c: Omit<FaultCase, 'id'>): FaultCase => ({
  ...c,
  id: [
    c.node,
    c.step,
    c.fault,
    c.viaRollback ? 'in-rollback' : '',
    c.parallel ? 'parallel' : '',
    c.only ? 'only' : '',
    c.ignored ? 'ignored' : '',
    c.decision ?? '',
    c.policy ?? '',
    c.gate ?? '',
  ]
    .filter(Boolean)
    .join(' '),
});

/** Every case of the matrix: every step × one node of every role × every fault × each decision where one is asked. */
export function faultCases(): FaultCase[] {
  const cases: FaultCase[] = [];
  const add = (c: Omit<FaultCase, 'id'>) => cases.push(withId(c));
  for (const role of MATRIX_ROLES) {
    const node = nodeOf(role);
    for (const step of CHECKS) {
      for (const fault of [...FAILING, ...EVENT_FAULTS])
        add({ role, node, step, fault, expectedStatus: EVENT_FAULTS.includes(fault) ? 'SUCCEEDED' : 'FAILED' });
    }
    for (const step of WINDOW) {
      if (step === 'retire' && role !== 'dea') continue;
      for (const fault of FAILING) {
        for (const decision of DECISIONS) {
          const passesOnRetry = fault !== 'fails';
          const expectedStatus = { retry: passesOnRetry ? 'SUCCEEDED' : 'ROLLED_BACK', rollback: 'ROLLED_BACK', skip: 'PARTIAL', abort: 'ABORTED' }[decision];
          add({ role, node, step, fault, decision, expectedStatus });
        }
      }
      for (const fault of EVENT_FAULTS) add({ role, node, step, fault, expectedStatus: 'SUCCEEDED' });
    }
    // The rollback itself meets the fault: restored on its retries, else NEEDS_ATTENTION (run FAILED).
    for (const fault of FAILING) {
      for (const decision of ['rollback', 'skip'] as const) {
        const restored = fault !== 'fails';
        add({
          role,
          node,
          step: 'rollback',
          fault,
          decision,
          viaRollback: true,
          expectedStatus: restored ? (decision === 'skip' ? 'PARTIAL' : 'ROLLED_BACK') : 'FAILED',
        });
      }
    }
  }
  // A parallel group: while the operator decides about dea-1, dea-2 finishes and no further DEA starts.
  for (const fault of ['fails', 'fails-once'] as const) {
    for (const decision of DECISIONS) {
      const expectedStatus = { retry: fault === 'fails-once' ? 'SUCCEEDED' : 'ROLLED_BACK', rollback: 'ROLLED_BACK', skip: 'PARTIAL', abort: 'ABORTED' }[
        decision
      ];
      add({ role: 'dea', node: 'dea-1', step: 'upgrade', fault, decision, parallel: true, expectedStatus });
    }
  }
  // Maintenance mode is switched on the core node (primary); its faults concern the cluster, not a role.
  for (const step of ['maintenance-on', 'maintenance-off'] as const) {
    for (const fault of [...FAILING, ...EVENT_FAULTS]) {
      const expectedStatus = EVENT_FAULTS.includes(fault) ? 'SUCCEEDED' : step === 'maintenance-on' ? 'FAILED' : fault === 'fails' ? 'FAILED' : 'SUCCEEDED';
      add({ role: 'primary', node: 'core-1', step, fault, expectedStatus });
    }
  }
  add({ role: 'all', node: 'core-1', step: 'download', fault: 'checksum', expectedStatus: 'FAILED' });
  // A subset run (`only`): each decision about its failed node, the core node out of the run yet switching maintenance mode.
  for (const decision of DECISIONS) {
    add({
      role: 'dea',
      node: 'dea-1',
      step: 'upgrade',
      fault: 'fails',
      decision,
      only: true,
      expectedStatus: { retry: 'ROLLED_BACK', rollback: 'ROLLED_BACK', skip: 'PARTIAL', abort: 'ABORTED' }[decision],
    });
  }
  // kato's --ignore-inspect-failures: either validation failing is a warning, the run succeeds without asking.
  for (const step of ['pre-upgrade-validation', 'post-upgrade-validation'] as const) {
    add({ role: 'dea', node: 'dea-1', step, fault: 'fails', ignored: true, expectedStatus: 'SUCCEEDED' });
  }
  cases.push(...unattendedCases());
  // The run's own holds (issue 19): each question answered either way, a pause resumed or left past its limit.
  for (const gate of ['canary-continue', 'canary-abort', 'health-continue', 'health-abort', 'pause-resume', 'pause-expires'] as const) {
    add({
      role: 'dea',
      node: 'dea-1',
      step: 'post-upgrade-validation',
      fault: 'gate',
      gate,
      expectedStatus: gate.endsWith('continue') || gate === 'pause-resume' ? 'SUCCEEDED' : 'ABORTED',
    });
  }
  return cases;
}

/**
 * Issue 19's stops and decisions: the failure budget decides instead of a person (within it: PARTIAL; past it:
 * ABORTED; a rollback that fails: FAILED), and the window cutoff (the node after the faulted one would not
 * finish in time: INCOMPLETE; no node would: the window never opens).
 */
function unattendedCases(): FaultCase[] {
  const cases: FaultCase[] = [];
  const add = (c: Omit<FaultCase, 'id'>) => cases.push(withId(c));
  for (const role of MATRIX_ROLES) {
    const node = nodeOf(role);
    for (const step of WINDOW) {
      if (step === 'retire' && role !== 'dea') continue;
      add({ role, node, step, fault: 'fails', policy: 'budget', expectedStatus: 'PARTIAL' });
      add({ role, node, step, fault: 'fails', policy: 'over-budget', expectedStatus: 'ABORTED' });
    }
    for (const fault of ['fails', 'fails-once'] as const) {
      add({ role, node, step: 'rollback', fault, viaRollback: true, policy: 'budget', expectedStatus: fault === 'fails' ? 'FAILED' : 'PARTIAL' });
    }
    // The faulted node's role recorded a minute, the node after it an hour: it upgrades, the next never starts.
    add({ role, node, step: 'pre-upgrade-validation', fault: 'cutoff', expectedStatus: 'INCOMPLETE' });
  }
  add({ role: 'dea', node: 'dea-1', step: 'upgrade', fault: 'fails', parallel: true, policy: 'over-budget', expectedStatus: 'ABORTED' });
  add({ role: 'dea', node: 'dea-1', step: 'upgrade', fault: 'fails', parallel: true, policy: 'budget', expectedStatus: 'PARTIAL' });
  // No history, and less time than the default estimate: the window never opens.
  add({ role: 'all', node: 'core-1', step: 'maintenance-on', fault: 'cutoff', expectedStatus: 'INCOMPLETE' });
  return cases;
}

/** The cluster a case runs on: the faulted node and the core node (plus a node after it when the core is faulted). */
export function caseCluster(c: FaultCase): ClusterFile {
  const node = (id: string, role: string) => ({ id, roles: [role], version: '3.0.0', state: { node: id, data: `state of ${id} – must survive` } });
  const nodes = c.parallel
    ? [...['dea-1', 'dea-2', 'dea-3', 'dea-4'].map((id) => node(id, 'dea')), node('core-1', 'primary')]
    : c.only
      ? [node(c.node, c.role), node('dea-2', 'dea'), node('core-1', 'primary')]
      : c.node === 'core-1'
        ? [node('core-1', 'primary'), node('mysql-1', 'mysql')]
        : [node(c.node, c.role), node('core-1', 'primary')];
  return { cluster: `faults-${c.id.replace(/[^a-z0-9]+/g, '-')}`.slice(0, 60), nodes };
}

/** Step timeouts in the matrix: hangs and lost events play out in seconds. */
export const MATRIX_STEP_TIMEOUT_SECONDS = 3;

export function caseOptions(c: FaultCase): Partial<RehearsalOptions> {
  const ssm = (kind: FaultKind, times: number, step: StepId = c.step) => ({ failures: [{ nodeId: c.node, step, times, kind }] });
  const base: Partial<RehearsalOptions> = {
    stepTimeoutSeconds: MATRIX_STEP_TIMEOUT_SECONDS,
    // Only the faulted step: on a loaded machine a healthy step may take longer than the cap.
    cappedSteps: [c.viaRollback ? 'rollback' : c.step],
    decisions: c.decision ? [c.decision, 'rollback', 'rollback'] : [],
    ...(c.policy === undefined ? {} : { onFailure: 'rollback-and-continue' as const, maxFailedNodes: c.policy === 'budget' || c.parallel ? 1 : 0 }),
    // No decision case asks twice; should one wait, it ends by the timeout (rollback), not by hanging the test.
    approvalTimeoutMinutes: 0.5,
    onTimeout: 'rollback',
    ...(c.parallel ? { concurrency: { dea: 2 } } : {}),
    ...(c.only ? { only: [c.node] } : {}),
    ...(c.ignored ? { ignoreInspectFailures: true } : {}),
  };
  const faultOf = (step: StepId): Partial<RehearsalOptions> => {
    switch (c.fault) {
      case 'fails':
        return ssm('fail', Number.POSITIVE_INFINITY, step);
      case 'fails-once':
        return ssm('fail', 1, step);
      case 'hangs':
        return ssm('hang', 1, step);
      case 'offline':
        return ssm('offline', 1, step);
      case 'lost-event':
        return ssm('lost-event', 1, step);
      case 'duplicate-event':
        return ssm('duplicate-event', 1, step);
      case 'stray-event':
        return ssm('stray-event', 1, step);
      case 'lambda-throws':
        return { lambdaFaults: [{ handler: 'run-step', times: ONE_ENTRY_OF_CRASHES, step, nodeId: c.node }] };
      case 'checksum':
        return { corruptPackage: true };
      // With an hour's estimate recorded for the node after the faulted one (caseHistory), 30 minutes fit one node;
      // without history (the core node's case), 10 minutes fit none.
      case 'cutoff':
        return { notAfter: new Date(Date.now() + (c.step === 'maintenance-on' ? 10 : 30) * 60_000).toISOString() };
      case 'gate':
        return gateOptions(c);
    }
  };
  if (c.viaRollback) {
    const rollbackFault = faultOf('rollback');
    return {
      ...base,
      ...rollbackFault,
      failures: [{ nodeId: c.node, step: 'post-upgrade-validation', times: Number.POSITIVE_INFINITY, kind: 'fail' }, ...(rollbackFault.failures ?? [])],
    };
  }
  if (c.parallel && c.policy === 'over-budget') {
    // dea-2 fails alongside dea-1: one of them spends the budget of 1, the other stops the run.
    return { ...base, failures: ['dea-1', 'dea-2'].map((nodeId) => ({ nodeId, step: c.step, times: Number.POSITIVE_INFINITY, kind: 'fail' as const })) };
  }
  return { ...base, ...faultOf(c.step) };
}

/**
 * What an earlier run of a cutoff case's cluster recorded: a minute for the first node in role order, an hour
 * for the next, so with 30 minutes left the first upgrades and the next never starts. None for the case
 * without history (the default estimate then applies).
 */
export function caseHistory(c: FaultCase, cluster: ClusterFile): Record<string, number> | null {
  if (c.fault !== 'cutoff' || c.step === 'maintenance-on') return null;
  const [first, next] = groupByRole(cluster.nodes).flatMap((g) => g.nodes);
  return { ...(first ? { [first.id]: 60 } : {}), ...(next ? { [next.id]: 3600 } : {}) };
}

export interface CaseResult {
  id: string;
  status: string;
  expectedStatus: string;
  violations: string[];
  passed: boolean;
  durationMs: number;
  /** How the run explained itself (summary.failure), or why the case could not run. */
  error?: string;
}

/** Runs one case in the local rehearsal and checks every invariant afterwards. */
export async function runCase(c: FaultCase, dynamodb: LocalDynamoDb, tmp = '.tmp'): Promise<CaseResult> {
  const started = Date.now();
  await mkdir(tmp, { recursive: true });
  const workdir = await mkdtemp(join(tmp, 'fault-'));
  const cluster = caseCluster(c);
  try {
    const history = caseHistory(c, cluster);
    if (history !== null) await recordEarlierRun(dynamodb, cluster, history);
    const r = await rehearse({ cluster, targetVersion: '3.1.0', workdir, dynamodb, keepServices: true, ...caseOptions(c) });
    const violations = await invariantViolations(r, cluster);
    await Promise.all([...r.nodeRoots.values()].map((root) => stopService(root)));
    const status = r.summary.status;
    const failure = r.summary.failure === null ? {} : { error: `${r.summary.failure.error}: ${r.summary.failure.message}`.slice(0, 400) };
    return {
      id: c.id,
      status,
      expectedStatus: c.expectedStatus,
      violations,
      passed: violations.length === 0 && status === c.expectedStatus,
      durationMs: Date.now() - started,
      ...failure,
    };
  } catch (error) {
    return {
      id: c.id,
      status: 'ERROR',
      expectedStatus: c.expectedStatus,
      violations: [],
      passed: false,
      durationMs: Date.now() - started,
      error: String(error),
    };
  } finally {
    await Promise.all(cluster.nodes.map((n) => stopService(join(workdir, 'nodes', n.id))));
    await rm(workdir, { recursive: true, force: true });
  }
}

/** A hold of the run's own (fault `gate`): after dea-1, the canary's or an alarm's question, or a pause. */
function gateOptions(c: FaultCase): Partial<RehearsalOptions> {
  const answer = c.gate?.endsWith('continue') ? 'continue' : 'abort';
  if (c.gate?.startsWith('canary')) return { canary: 1, decisions: [answer] };
  if (c.gate?.startsWith('health')) return { healthAlarms: ['api-5xx'], alarms: [{ name: 'api-5xx', afterNode: c.node }], decisions: [answer] };
  // A pause after dea-1 starts: resumed 2 s later, or left to pass its 6-second limit.
  return c.gate === 'pause-resume' ? { pauseAfter: c.node, resumeAfterSeconds: 2 } : { pauseAfter: c.node, pauseLimitMinutes: 0.1 };
}

/** The table `npm run test:faults` prints. */
export function resultTable(results: CaseResult[]): string {
  const byFault = new Map<string, CaseResult[]>();
  for (const r of results) {
    const fault = FAULTS.find((f) => r.id.split(' ').includes(f)) ?? 'other';
    byFault.set(fault, [...(byFault.get(fault) ?? []), r]);
  }
  const rows = [...byFault.entries()].map(([fault, rs]) => [
    fault,
    rs.length,
    rs.filter((r) => r.passed).length,
    rs.filter((r) => r.status !== 'ERROR' && r.violations.length === 0).length,
  ]);
  rows.push(['all', results.length, results.filter((r) => r.passed).length, results.filter((r) => r.status !== 'ERROR' && r.violations.length === 0).length]);
  const lines = [['fault', 'cases tried', 'passed', 'invariants held'], ...rows.map((r) => r.map(String))];
  const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
  return lines.map((l) => l.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ')).join('\n');
}
