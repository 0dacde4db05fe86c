import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { HELD_STATE_NAME, heldLine } from '../core/hold.js';
import { PAUSED_STATE_NAME, pausedLine } from '../core/pause.js';

/** What the operator sees of one node while a run goes on. */
export interface NodeView {
  id: string;
  group: string;
  /** The state (step) the node is in, or its last one. */
  step: string;
  stepStartedAt: number;
  state: 'waiting' | 'held' | 'running' | 'upgraded' | 'skipped' | 'failed' | 'approval';
  note: string;
  warnings: string[];
  /** When the node's first step started. */
  startedAt?: number;
}

type Detail = { name?: string; input?: string; output?: string; error?: string; cause?: string };

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function parse(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? 'null');
  } catch {
    return null;
  }
}

function secondsSince(from: number, now: number): string {
  return `${Math.max(0, (now - from) / 1000).toFixed(1)}s`;
}

/**
 * The live picture of a run, built from its execution history only (the same events in AWS and locally):
 * groups, each node's current step and elapsed time, warnings, failures, and the run's end. `take()`
 * returns the new plain lines (non-TTY output); `frame()` renders the whole picture (TTY output).
 */
export class WatchView {
  readonly nodes = new Map<string, NodeView>();
  readonly groups: { role: string; nodes: string[] }[] = [];
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT' = 'RUNNING';
  output: unknown = undefined;
  error = '';
  cause = '';
  input: { cluster?: string; targetVersion?: string } = {};
  startedAt = 0;
  cluster = '';
  /** Where the run is outside the nodes (lock, plan, maintenance mode, summary). */
  phase = '';
  private readonly nodeOfEvent = new Map<string, string>();
  /** The last task result per history and node: what a state that ends a Map child no longer outputs. */
  private readonly taskResults = new Map<string, unknown>();
  private readonly lines: string[] = [];
  /** Last event id seen per history (the execution's, and each child execution's of a Distributed Map). */
  private readonly lastIds = new Map<string, number>();

  /** The id of the last event seen of a history: poll for newer ones. */
  seenOf(source = ''): number {
    return this.lastIds.get(source) ?? 0;
  }

  get seen(): number {
    return this.seenOf('');
  }

  private at(ts: Date | undefined): number {
    return ts instanceof Date ? ts.getTime() : Number(ts ?? 0) * 1000;
  }

  private stamp(t: number): string {
    return `[${secondsSince(this.startedAt, t).padStart(7)}]`;
  }

  private say(t: number, text: string): void {
    this.lines.push(`${this.stamp(t)} ${text}`);
  }

  /**
   * Takes one event of the run's history (`source` ''), or of a child execution of one of its
   * Distributed Maps (`source` = the child's ARN): the same picture either way.
   */
  add(event: HistoryEvent, source = ''): void {
    const id = event.id ?? 0;
    if (id <= this.seenOf(source)) return;
    this.lastIds.set(source, id);
    const root = source === '';
    const t = this.at(event.timestamp);
    const type = event.type ?? '';
    const entered = event.stateEnteredEventDetails as Detail | undefined;
    const exited = event.stateExitedEventDetails as Detail | undefined;
    const input = entered
      ? (parse(entered.input) as {
          node?: { id?: string };
          group?: { role?: string; nodes?: { id: string }[] };
          gate?: { waitingFor?: string[]; until?: string };
        } | null)
      : null;
    let node = typeof input?.node?.id === 'string' ? input.node.id : undefined;
    if (node === undefined && entered === undefined) node = this.nodeOfEvent.get(`${source}#${event.previousEventId ?? -1}`);
    if (node !== undefined) this.nodeOfEvent.set(`${source}#${id}`, node);

    // A child execution's own start and end say nothing the states inside it do not.
    if (!root && type.startsWith('Execution')) return;
    const succeeded = (event.lambdaFunctionSucceededEventDetails ?? event.taskSucceededEventDetails) as { output?: string } | undefined;
    if (succeeded !== undefined && node !== undefined) this.taskResults.set(`${source}#${node}`, parse(succeeded.output));
    if (type === 'ExecutionStarted') {
      this.startedAt = t;
      this.input = (parse(event.executionStartedEventDetails?.input) ?? {}) as typeof this.input;
      this.cluster = this.input.cluster ?? '';
      this.lines.push(
        `Upgrade of ${this.input.cluster ?? '?'} to ${this.input.targetVersion ?? '?'} started ${new Date(t).toISOString().replace(/\.\d+Z$/, 'Z')}`,
      );
      return;
    }
    if (entered && entered.name === 'Upgrade nodes of the group' && input?.group) {
      const role = input.group.role ?? '?';
      const ids = (input.group.nodes ?? []).map((n) => n.id);
      this.groups.push({ role, nodes: ids });
      for (const n of ids) this.nodes.set(n, { id: n, group: role, step: '', stepStartedAt: t, state: 'waiting', note: '', warnings: [] });
      this.say(t, `group ${role}: ${ids.join(', ')}`);
      return;
    }
    if (entered && node !== undefined && type.endsWith('StateEntered') && type !== 'MapStateEntered') {
      const view = this.nodes.get(node) ?? { id: node, group: '', step: '', stepStartedAt: t, state: 'waiting' as const, note: '', warnings: [] };
      if (type === 'TaskStateEntered' && entered.name === 'Ask operator') {
        Object.assign(view, { state: 'approval' });
        // The deadline counts from entering this state (the task's own timeout), as the approval's link does.
        const run = (parse(entered.input) as { run?: { approvalTimeoutSeconds?: number; onTimeout?: string } } | null)?.run;
        const until =
          run?.approvalTimeoutSeconds === undefined
            ? ''
            : ` until ${new Date(t + run.approvalTimeoutSeconds * 1000)
                .toISOString()
                .replace('T', ' ')
                .replace(/:\d\d\.\d+Z$/, ' UTC')} (then ${run.onTimeout ?? 'rollback'})`;
        this.say(
          t,
          `${node.padEnd(14)} waiting for the operator's decision${until}: the approval link went by email to the ` +
            `operator topic; or fleet-upgrade approvals, then fleet-upgrade decide <approval-id> rollback|retry|skip|abort`,
        );
        this.nodes.set(node, view);
        return;
      }
      if (type === 'TaskStateEntered' && (entered.name === HELD_STATE_NAME || entered.name === PAUSED_STATE_NAME)) {
        const note = entered.name === PAUSED_STATE_NAME ? pausedLine(input?.gate?.until) : heldLine(input?.gate?.waitingFor);
        Object.assign(view, { state: 'held', step: '', stepStartedAt: t, note });
        this.say(t, `${node.padEnd(14)} ${view.note}`);
        this.nodes.set(node, view);
        return;
      }
      if (
        type === 'TaskStateEntered' &&
        !['Record version', 'Skip node', 'Record node failure', 'Record rollback', 'Record skipped node'].includes(entered.name ?? '')
      ) {
        Object.assign(view, { step: entered.name ?? '', stepStartedAt: t, state: view.state === 'failed' ? 'failed' : 'running' });
        view.startedAt ??= t;
      }
      this.nodes.set(node, view);
      return;
    }
    if (entered && node === undefined && type === 'TaskStateEntered') {
      this.phase = entered.name ?? '';
      return;
    }
    if (exited && node !== undefined && type === 'TaskStateExited') {
      const view = this.nodes.get(node);
      if (view === undefined) return;
      type Outcome = { status?: string; from?: string | null; to?: string | null; failedStep?: string };
      const stateOutput = parse(exited.output) as {
        lastStep?: { warnings?: string[] };
        outcome?: Outcome;
        versionCheck?: { details?: { version?: string } };
      } | null;
      // A state that ends a Map child outputs an empty object (the Map gathers children's outputs): its task's
      // own result (the step's, or record-node's outcome) tells what the state would have added.
      const result = this.taskResults.get(`${source}#${node}`) as (Outcome & { warnings?: string[] }) | undefined;
      const endsChild = stateOutput !== null && Object.keys(stateOutput).length === 0;
      const output = endsChild
        ? { lastStep: { warnings: result?.warnings ?? [] }, ...(exited.name === 'Record version' && result ? { outcome: result } : {}) }
        : stateOutput;
      const warnings = output?.lastStep?.warnings ?? [];
      for (const w of warnings)
        if (!view.warnings.includes(w)) {
          view.warnings.push(w);
          this.say(t, `${node.padEnd(14)} warning in ${exited.name ?? ''}: ${w}`);
        }
      if (exited.name === HELD_STATE_NAME || exited.name === PAUSED_STATE_NAME) {
        this.say(t, `${node.padEnd(14)} released after ${secondsSince(view.stepStartedAt, t)}: asks again whether it may start`);
        Object.assign(view, { state: 'waiting', note: '' });
      } else if (exited.name === 'Ask operator') {
        const decided = (output as { approval?: { decision?: string; decidedBy?: string } } | null)?.approval;
        Object.assign(view, { state: 'failed' });
        this.say(t, `${node.padEnd(14)} operator decided: ${decided?.decision ?? '?'}${decided?.decidedBy ? ` (by ${decided.decidedBy})` : ''}`);
      } else if (exited.name === 'Apply the failure budget') {
        const decided = (output as { approval?: { decision?: string; decidedBy?: string } } | null)?.approval;
        Object.assign(view, { state: 'failed' });
        this.say(
          t,
          `${node.padEnd(14)} ${decided?.decision === 'skip' ? 'rolled back without asking' : 'stops the run'}: ${decided?.decidedBy ?? 'failure budget'}`,
        );
      } else if (exited.name === 'Record rollback' && output?.outcome) {
        Object.assign(view, { state: 'failed', note: `rolled back to ${output.outcome.to ?? '?'}` });
        this.say(t, `${node.padEnd(14)} ${view.note}`);
      } else if (exited.name === 'Record version' && output?.outcome) {
        Object.assign(view, { state: 'upgraded', note: `${output.outcome.from ?? '?'} → ${output.outcome.to ?? '?'}` });
        this.say(t, `${node.padEnd(14)} upgraded ${view.note} in ${secondsSince(view.startedAt ?? t, t)}`);
      } else if (exited.name === 'Skip node') {
        Object.assign(view, { state: 'skipped', note: `already at ${output?.outcome?.to ?? output?.versionCheck?.details?.version ?? 'target'}` });
        this.say(t, `${node.padEnd(14)} skipped (${view.note})`);
      } else if (exited.name === 'Record node failure') {
        Object.assign(view, { state: 'failed' });
        this.say(t, `${node.padEnd(14)} FAILED at ${output?.outcome?.failedStep ?? view.step}${view.note ? `: ${view.note}` : ''}`);
      } else if (view.state === 'running') {
        this.say(t, `${node.padEnd(14)} ${exited.name ?? ''}: ok in ${secondsSince(view.stepStartedAt, t)}`);
      }
      return;
    }
    if (exited && node === undefined && type === 'TaskStateExited') {
      const name = exited.name ?? '';
      if (name.includes('maintenance mode')) this.say(t, `${name}: done`);
      return;
    }
    if (type === 'TaskFailed' || type === 'LambdaFunctionFailed') {
      const d = (event.taskFailedEventDetails ?? event.lambdaFunctionFailedEventDetails) as Detail | undefined;
      const cause = parse(d?.cause) as { exitCode?: number; outputTail?: string } | null;
      const first =
        (cause?.outputTail ?? d?.cause ?? '')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .pop() ?? '';
      const note = `${d?.error ?? 'error'}${cause?.exitCode !== undefined ? ` (exit ${cause.exitCode})` : ''}${first ? `: ${first.slice(0, 160)}` : ''}`;
      if (node !== undefined) {
        const view = this.nodes.get(node);
        if (view !== undefined) Object.assign(view, { note, state: 'failed' });
        this.say(t, `${node.padEnd(14)} ${view?.step ?? ''}: FAILED after ${secondsSince(view?.stepStartedAt ?? t, t)} — ${note}`);
      } else {
        this.say(t, `${this.phase}: FAILED — ${note}`);
      }
      return;
    }
    if (type === 'ExecutionSucceeded') {
      this.status = 'SUCCEEDED';
      this.output = parse(event.executionSucceededEventDetails?.output);
    } else if (type === 'ExecutionFailed') {
      Object.assign(this, { status: 'FAILED', error: event.executionFailedEventDetails?.error ?? '', cause: event.executionFailedEventDetails?.cause ?? '' });
    } else if (type === 'ExecutionAborted') {
      Object.assign(this, {
        status: 'ABORTED',
        error: event.executionAbortedEventDetails?.error ?? '',
        cause: event.executionAbortedEventDetails?.cause ?? '',
      });
    } else if (type === 'ExecutionTimedOut') {
      Object.assign(this, {
        status: 'TIMED_OUT',
        error: event.executionTimedOutEventDetails?.error ?? '',
        cause: event.executionTimedOutEventDetails?.cause ?? '',
      });
    }
    if (this.status !== 'RUNNING') this.say(t, `run ${this.status}${this.error ? ` — ${this.error}${this.cause ? `: ${this.cause}` : ''}` : ''}`);
  }

  /** The run's open pause (read from its PAUSE item: the history shows only nodes that wait for it). */
  paused: { pausedBy: string; pausedAt: string; until: string } | null = null;

  /** Notes the run's pause as `status`/`watch` read it: a line when it starts or ends. */
  setPause(pause: { pausedBy: string; pausedAt: string; until: string } | null, t: number): void {
    if ((pause === null) === (this.paused === null)) {
      this.paused = pause;
      return;
    }
    this.paused = pause;
    this.say(
      t,
      pause === null
        ? 'run resumed (no longer paused)'
        : `run PAUSED by ${pause.pausedBy} at ${pause.pausedAt}: nodes in flight finish, none starts until fleet-upgrade resume (limit ${pause.until})`,
    );
  }

  /** The plain lines produced since the last call. */
  take(): string[] {
    return this.lines.splice(0);
  }

  /** The whole picture, for a terminal that is redrawn in place. */
  frame(now: number, tick = 0): string[] {
    const out: string[] = [];
    const paused = this.paused !== null && this.status === 'RUNNING' ? ` — PAUSED by ${this.paused.pausedBy} (limit ${this.paused.until})` : '';
    out.push(
      `Upgrade of ${this.input.cluster ?? '?'} to ${this.input.targetVersion ?? '?'} — ` +
        `${this.status}, ${secondsSince(this.startedAt, now)}${this.phase && this.status === 'RUNNING' ? ` — ${this.phase}` : ''}${paused}`,
    );
    for (const g of this.groups) {
      const done = g.nodes.filter((n) => ['upgraded', 'skipped'].includes(this.nodes.get(n)?.state ?? '')).length;
      out.push(`  group ${g.role} (${done}/${g.nodes.length})`);
      for (const id of g.nodes) {
        const n = this.nodes.get(id);
        if (n === undefined) continue;
        const icon =
          n.state === 'running'
            ? (SPINNER[tick % SPINNER.length] ?? '*')
            : n.state === 'upgraded'
              ? '✔'
              : n.state === 'skipped'
                ? '–'
                : n.state === 'failed'
                  ? '✘'
                  : n.state === 'approval'
                    ? '?'
                    : n.state === 'held'
                      ? '‖'
                      : '·';
        const what =
          n.state === 'running'
            ? `${n.step} ${secondsSince(n.stepStartedAt, now)}`
            : n.state === 'waiting'
              ? 'waiting'
              : n.state === 'held'
                ? `${n.note} (${secondsSince(n.stepStartedAt, now)})`
                : n.state === 'approval'
                  ? `failed ${n.step}, waiting for the operator's decision (approval link emailed)`
                  : `${n.state}${n.note ? ` ${n.note}` : ''}`;
        out.push(`    ${icon} ${id.padEnd(14)} ${what}${n.warnings.length > 0 ? `  (${n.warnings.length} warning${n.warnings.length > 1 ? 's' : ''})` : ''}`);
      }
    }
    return out;
  }
}
