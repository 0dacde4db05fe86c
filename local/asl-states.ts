/** The parts of an ASL state the local runner reads or adjusts. */
export interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Retry?: unknown[];
  ItemProcessor?: { States: Record<string, AslState>; ProcessorConfig?: { Mode?: string } };
  /** A Distributed Map's label: its child executions run as `<state machine ARN>/<label>`. */
  Label?: string;
  Iterator?: { States: Record<string, AslState> };
  Branches?: { States: Record<string, AslState> }[];
}

/**
 * The Distributed Map states of a definition, each with its label: every child is an execution of the state
 * machine, run as `<state machine ARN>/<label>` (the Map's name when it has no label).
 */
export function distributedMaps(definition: Record<string, unknown>): Map<string, string> {
  const found = new Map<string, string>();
  for (const { name, state } of allStates(statesOf(definition))) {
    if (state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') found.set(name, state.Label ?? name);
  }
  return found;
}

/** Every state of a definition's `States`, inside Map and Parallel states too, with the Maps it runs in (outermost first). */
export function* allStates(states: Record<string, AslState>, maps: string[] = []): Generator<{ name: string; state: AslState; maps: string[] }> {
  for (const [name, state] of Object.entries(states)) {
    yield { name, state, maps };
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) yield* allStates(inner.States, [...maps, name]);
    for (const branch of state.Branches ?? []) yield* allStates(branch.States, maps);
  }
}

/** The top-level `States` of a definition. */
export const statesOf = (definition: Record<string, unknown>) => definition.States as Record<string, AslState>;

/** A Task state and the Map states it runs inside. */
export interface TaskInfo {
  state: AslState;
  /** Names of the Map states this task runs inside, outermost first. */
  maps: string[];
}

/** Every Task state of the definition, including those inside Map and Parallel states. */
export function taskStates(states: Record<string, AslState>): Map<string, TaskInfo> {
  const out = new Map<string, TaskInfo>();
  for (const { name, state, maps } of allStates(states)) if (state.Type === 'Task') out.set(name, { state, maps });
  return out;
}

/** The value at a plain `$.a.b` path (what this project's definitions use) in a state's input. */
export function atPath(input: unknown, path: string): unknown {
  let value = input;
  for (const key of path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}
