import type { RunnerEvent } from './runner-types.js';
import { allStates, statesOf } from './asl-states.js';

/**
 * Step Functions starts no new iteration of a Map state once the Map has failed; aws-local-stepfunctions
 * still starts the iterations it had queued. This fence closes a Map when it fails (reopened when the
 * Map is entered again), refuses tasks inside a closed Map, and tells which events such phantom
 * iterations produce, so a failure stops the rollout locally exactly as it does in AWS and neither
 * progress nor counts show what AWS would never run.
 */
export class MapFence {
  private readonly closed = new Set<string>();
  /** State name → the Map states it runs inside, outermost first. */
  private readonly enclosing = new Map<string, string[]>();

  constructor(definition: Record<string, unknown>) {
    for (const { name, maps } of allStates(statesOf(definition))) this.enclosing.set(name, maps);
  }

  /** True for events of iterations AWS would not have run (inside a Map that already failed). */
  suppresses(event: RunnerEvent): boolean {
    if (event.stateName === undefined) return false;
    const maps = this.enclosing.get(event.stateName) ?? [];
    if (maps.some((m) => this.closed.has(m))) return true;
    return event.type === 'MapIterationStarted' && this.closed.has(event.stateName);
  }

  observe(event: RunnerEvent): void {
    if (event.stateType !== 'Map' || event.stateName === undefined) return;
    if (event.type === 'StateEntered') this.closed.delete(event.stateName);
    if (event.type === 'StateFailed' || event.type === 'MapIterationFailed') this.closed.add(event.stateName);
  }

  async check(stateName: string): Promise<void> {
    const maps = this.enclosing.get(stateName) ?? [];
    if (maps.length === 0) return;
    // Let the event log deliver what already happened before deciding.
    await new Promise((resolve) => setImmediate(resolve));
    const closed = maps.find((m) => this.closed.has(m));
    if (closed !== undefined) throw new Error(`"${stateName}" not started: the Map state "${closed}" already failed`);
  }
}
