import type { RunContext } from '../../core/run-context.js';
import { alarmsFiring, healthGate, isHealthDecision, nodesChangedSince, type HealthAskAnswer } from '../../core/health.js';
import type { AlarmReader } from '../../adapters/alarm-reader.js';
import type { HealthStore } from '../../adapters/health-store.js';
import type { FleetStore } from '../../adapters/store.js';

/** What the health gate says for one node: start, wait for the open question, ask it, or stop (abort decided). */
export type HealthAnswer = { kind: 'go' } | { kind: 'held'; waitingFor: string[] } | { kind: 'stop' } | HealthAskAnswer;

/**
 * The run's health gate (core/health.ts decides; this reads the alarms and the `HEALTH` item and writes it):
 * read before a node starts and after it finishes. Alarms are read only while no question is open.
 */
export class HealthGateKeeper {
  constructor(
    private readonly store: FleetStore,
    private readonly health: HealthStore,
    private readonly alarms: AlarmReader,
    private readonly run: RunContext,
  ) {}

  /** Reads the alarms; one that fires and that nobody continued past opens the question, asked by this node if it wins the claim. */
  async check(nodeId: string, now: () => string): Promise<HealthAnswer> {
    const names = this.run.healthAlarms ?? [];
    if (names.length === 0) return { kind: 'go' };
    const { runId } = this.run;
    const state = await this.health.get(runId);
    const before = healthGate(state, []);
    if (before.kind !== 'go') return before.kind === 'ask' ? { kind: 'go' } : before;
    const gate = healthGate(state, alarmsFiring(await this.alarms.describe(names), names));
    if (gate.kind === 'go') {
      await this.health.passed(runId, now());
      return gate;
    }
    if (gate.kind !== 'ask') return gate;
    const changed = nodesChangedSince(state?.lastPassAt, await this.store.runOutcomes(runId));
    if (await this.health.claimAsk(runId, nodeId, gate.alarms, changed, now())) return { go: false, askHealth: true, alarms: gate.alarms.map((a) => a.name) };
    // Another node asks (or an abort was just decided): this one waits like any held node.
    const after = healthGate(await this.health.get(runId), []);
    return after.kind === 'stop' ? after : { kind: 'held', waitingFor: after.kind === 'held' ? after.waitingFor : [] };
  }

  /** The operator's decision (or abort, when there is no usable one): recorded once; what it came to. */
  async decided(
    decision: unknown,
    by: string,
    byTimeout: boolean,
    now: () => string,
  ): Promise<{ decision: string; alarms: string[]; decidedBy?: string; byTimeout?: boolean }> {
    const { runId } = this.run;
    await this.health.decide(runId, isHealthDecision(decision) ? decision : 'abort', by, now(), byTimeout);
    const state = await this.health.get(runId);
    return {
      decision: state?.decision ?? 'abort',
      alarms: state?.alarms.map((a) => a.name) ?? [],
      ...(state?.decidedBy !== undefined ? { decidedBy: state.decidedBy } : {}),
      ...(state?.byTimeout !== undefined ? { byTimeout: state.byTimeout } : {}),
    };
  }
}
