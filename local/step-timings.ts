import { STEP_STATE_NAMES, type StepId } from '../core/steps.js';
import type { RunnerEvent } from './state-machine-runner.js';

const STEP_OF_STATE = new Map(Object.entries(STEP_STATE_NAMES).map(([step, name]) => [name, step as StepId]));

/** One node step as the state machine saw it: from its task state entered to exited. */
export interface StepTiming {
  nodeId: string;
  step: StepId;
  taskMs: number;
}

/** Times every node step's task state, for the orchestration-overhead benchmark (task time − script time). */
export class StepTimer {
  readonly timings: StepTiming[] = [];
  private readonly entered = new Map<string, number>();

  add(event: RunnerEvent): void {
    const step = event.stateName === undefined ? undefined : STEP_OF_STATE.get(event.stateName);
    const nodeId = (event.input as { node?: { id?: unknown } } | undefined)?.node?.id;
    if (step === undefined || typeof nodeId !== 'string') return;
    const key = `${nodeId}|${step}`;
    if (event.type === 'StateEntered') this.entered.set(key, event.timestamp);
    if (event.type === 'StateExited' && this.entered.has(key)) {
      this.timings.push({ nodeId, step, taskMs: event.timestamp - (this.entered.get(key) ?? event.timestamp) });
      this.entered.delete(key);
    }
  }
}
