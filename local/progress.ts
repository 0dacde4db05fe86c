import type { RunnerEvent } from './state-machine-runner.js';
import { HELD_STATE_NAME, heldLine } from '../core/hold.js';
import { PAUSED_STATE_NAME, pausedLine } from '../core/pause.js';

/** The node a state acts on: the node of a pipeline step, or the core node for maintenance mode. */
function nodeOf(input: unknown, stateName: string | undefined): string | undefined {
  const value = input as { node?: { id?: unknown }; plan?: { coreNode?: unknown } } | undefined;
  if (typeof value?.node?.id === 'string') return value.node.id;
  if (stateName?.includes('maintenance mode') && typeof value?.plan?.coreNode === 'string') return value.plan.coreNode;
  return undefined;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** States whose success is bookkeeping, not progress: said only when they fail. */
const QUIET = new Set(['May this node start?']);

/**
 * Why a state failed, in words: a step's result (exit code and its last line of output) rather than its
 * JSON, and a timeout as a timeout, not `States.Timeout: States.Timeout`.
 */
export function failureText(error: string | undefined, cause: unknown): string {
  const text = typeof cause === 'string' ? cause : JSON.stringify(cause ?? '');
  if (error === 'States.Timeout') return "timed out: no result within the step's timeout";
  try {
    const step = JSON.parse(text) as { exitCode?: unknown; outputTail?: unknown };
    if (typeof step === 'object' && step !== null && ('exitCode' in step || 'outputTail' in step)) {
      const last = typeof step.outputTail === 'string' ? (step.outputTail.trim().split('\n').at(-1) ?? '') : '';
      return `exit code ${step.exitCode === null || step.exitCode === undefined ? 'none' : String(step.exitCode)}${last ? `: ${last.slice(0, 200)}` : ''}`;
    }
  } catch {
    // Not JSON: said as it is.
  }
  const first = text.split('\n')[0]?.slice(0, 200) ?? '';
  return error === undefined || error === first ? first : `${error}: ${first}`;
}

/**
 * Live progress as plain lines (readable in a terminal, a CI log or a pipe): one line when a group
 * starts, one per finished step with its node and duration, and the reason when something fails.
 */
export class ProgressPrinter {
  private readonly entered = new Map<string, number>();
  /** States that failed: the library still reports them exited after a Catch, which must not read as "ok". */
  private readonly failed = new Set<string>();

  constructor(
    private readonly say: (line: string) => void,
    private readonly started: number,
  ) {}

  handle(event: RunnerEvent): void {
    const at = `[${seconds(event.timestamp - this.started).padStart(6)}]`;
    const node = nodeOf(event.input, event.stateName);
    const key = `${node ?? ''}|${event.stateName ?? ''}`;
    if (event.type === 'StateEntered') {
      this.entered.set(key, event.timestamp);
      this.failed.delete(key);
      if (event.stateName === 'Upgrade nodes of the group') {
        const group = (event.input as { group?: { role?: string; concurrency?: number; nodes?: { id: string }[] } }).group;
        const atOnce = (group?.concurrency ?? 1) > 1 ? ` (${group?.concurrency} at a time)` : '';
        this.say(`${at} group ${group?.role ?? '?'}${atOnce}: ${(group?.nodes ?? []).map((n) => n.id).join(', ')}`);
      }
      if (event.stateName === HELD_STATE_NAME) {
        this.say(`${at} ${(node ?? '').padEnd(14)} ${heldLine((event.input as { gate?: { waitingFor?: string[] } } | undefined)?.gate?.waitingFor)}`);
      }
      if (event.stateName === PAUSED_STATE_NAME) {
        this.say(`${at} ${(node ?? '').padEnd(14)} ${pausedLine((event.input as { gate?: { until?: string } } | undefined)?.gate?.until)}`);
      }
      return;
    }
    if (event.stateType !== 'Task' && event.stateType !== 'Fail') return;
    const took = seconds(event.timestamp - (this.entered.get(key) ?? event.timestamp));
    const who = node ?? '';
    if (event.type === 'StateExited' && (event.stateName === HELD_STATE_NAME || event.stateName === PAUSED_STATE_NAME)) {
      this.say(`${at} ${who.padEnd(14)} released after ${took}: asks again whether it may start`);
      return;
    }
    if (event.type === 'StateExited' && !this.failed.has(key)) {
      const output = event.output as
        | {
            lastStep?: { step?: string; outcome?: string; warnings?: string[]; details?: { version?: unknown }; atTarget?: boolean };
            plan?: { upgradeCount?: number; skipped?: { id: string; reason: string }[] };
          }
        | undefined;
      let note = '';
      if (output?.lastStep?.step === 'version-check') {
        note = ` (at ${String(output.lastStep.details?.version ?? '?')}${output.lastStep.atTarget ? ', already at target' : ''})`;
      }
      if (event.stateName === 'Decide which nodes to upgrade' && output?.plan?.skipped) {
        const skipped = output.plan.skipped;
        note = ` — ${output.plan.upgradeCount ?? 0} to upgrade, ${skipped.length} skipped${
          skipped.length
            ? `: ${skipped
                .slice(0, 5)
                .map((n) => `${n.id} (${n.reason})`)
                .join(', ')}${skipped.length > 5 ? ', …' : ''}`
            : ''
        }`;
      }
      const warnings = output?.lastStep?.warnings ?? [];
      if (QUIET.has(event.stateName ?? '') && warnings.length === 0) return;
      this.say(`${at} ${who.padEnd(14)} ${event.stateName ?? ''}: ok in ${took}${note}${warnings.length ? ` — warnings: ${warnings.join('; ')}` : ''}`);
    } else if (event.type === 'StateFailed') {
      this.failed.add(key);
      if (event.error === 'RunStopped') {
        // The node's failure was said already; this is the run noticing it.
        this.say(`${at} ${''.padEnd(14)} no further node starts: ${failureText(undefined, event.cause).replace(/^the run stopped: /, '')}`);
      } else if (event.stateType === 'Fail') {
        this.say(`${at} ${''.padEnd(14)} run ended: ${failureText(undefined, event.cause)}`);
      } else {
        this.say(`${at} ${who.padEnd(14)} ${event.stateName ?? ''}: FAILED after ${took} — ${failureText(event.error, event.cause)}`);
      }
    }
  }
}
