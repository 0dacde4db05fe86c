import type { RunContext } from '../../core/run-context.js';
import { gateAnswer, type GateAnswer } from '../../core/hold.js';
import { pauseCheck, pauseGate, type PausedAnswer } from '../../core/pause.js';
import { canaryComplete, canaryGate, isCanaryDecision } from '../../core/canary.js';
import { CanaryStore } from '../../adapters/canary-store.js';
import { HealthStore } from '../../adapters/health-store.js';
import { CloudWatchAlarmReader } from '../../adapters/alarm-reader.js';
import type { HealthAskAnswer } from '../../core/health.js';
import { HealthGateKeeper, type HealthAnswer } from './health-gate.js';
import { releaseHeldNodes } from '../../adapters/held-release.js';
import { PauseStore } from '../../adapters/pause-store.js';
import type { FleetStore } from '../../adapters/store.js';
import { Table } from '../../adapters/table.js';
import { TaskCallback } from '../../adapters/task-callback.js';
import { cloudwatchClient, documentClient, sfnClient } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';

const now = () => new Date().toISOString();

/**
 * What keeps a run's nodes from starting beyond its stop mark and open questions: an operator's pause and an
 * undecided canary. The decisions are core's (hold.ts, pause.ts, canary.ts); this carries them out.
 */
export class RunHolds {
  private readonly pauses: PauseStore;
  private readonly canaries: CanaryStore;
  private readonly healths: HealthStore;
  private readonly health: HealthGateKeeper;

  constructor(
    private readonly store: FleetStore,
    tableName: string,
    private readonly run: RunContext,
  ) {
    const table = new Table(documentClient(), tableName);
    this.pauses = new PauseStore(table);
    this.canaries = new CanaryStore(table);
    this.healths = new HealthStore(table);
    // The CloudWatch client is built only when an alarm is read (runs without health gates never build it).
    this.health = new HealthGateKeeper(store, this.healths, { describe: (names) => new CloudWatchAlarmReader(cloudwatchClient()).describe(names) }, run);
  }

  /** The run's held nodes go back to the gate if nothing holds the run any more (adapters/held-release.ts). */
  async release(): Promise<void> {
    const settings = { pauseLimitSeconds: this.run.pauseLimitSeconds, canary: this.run.canary ?? 0, health: this.run.healthAlarms !== undefined };
    const released = await releaseHeldNodes(
      { store: this.store, pauses: this.pauses, canaries: this.canaries, healths: this.healths, callback: new TaskCallback(sfnClient()) },
      this.run.runId,
      settings,
      now,
    );
    if (released.length > 0) logger.info('held nodes released', { runId: this.run.runId, nodes: released });
  }

  /**
   * "May this node start?": a stop mark or an open question first (core/hold.ts), then the pause (a pause past
   * its limit stops the run as abort does: marked EXPIRED, the run stopping, held nodes released to end not
   * started), then the health alarms (one firing: this node asks, or is held), then the canary (a free slot is
   * claimed; none left and no decision: held).
   */
  async gate(nodeId: string): Promise<GateAnswer | PausedAnswer | HealthAskAnswer> {
    const { runId } = this.run;
    const pause = await this.pauses.open(runId);
    const pausing = pauseCheck(pause, this.run.pauseLimitSeconds, now());
    if (pause !== null && pausing.kind === 'expired') {
      await this.pauses.end(runId, pause, 'EXPIRED', 'the pause limit', now());
      await this.store.markRunStopping(runId, pausing.reason, now());
      await this.release();
    }
    const [stop, holds] = await Promise.all([this.store.runStopping(runId), this.store.openHolds(runId)]);
    const answer = pauseGate(gateAnswer(stop, holds), pausing, pause?.pausedBy);
    if (!answer.go) return answer;
    const health = await this.health.check(nodeId, now);
    if ('askHealth' in health) return health;
    if (health.kind === 'held') return { go: false, held: true, waitingFor: health.waitingFor };
    if (health.kind === 'stop')
      return { go: false, reason: (await this.store.runStopping(runId))?.reason ?? 'the run stopped: abort decided on a health alarm' };
    if (!(this.run.canary > 0)) return answer;
    const canary = canaryGate(this.run.canary, await this.canaries.get(runId), nodeId);
    if (canary.kind === 'go' || (canary.kind === 'claim' && (await this.canaries.claim(runId, nodeId, this.run.canary)))) return answer;
    const taken = canary.kind === 'held' ? canary.waitingFor : ((await this.canaries.get(runId))?.nodes ?? []);
    return { go: false, held: true, waitingFor: taken };
  }

  /** A node's part ended well (upgraded, or skipped by the operator): true when it completes the canary and asks. */
  async canaryDone(nodeId: string): Promise<boolean> {
    if (!(this.run.canary > 0)) return false;
    const state = await this.canaries.get(this.run.runId);
    if (state === null || !state.nodes.includes(nodeId)) return false;
    const after = await this.canaries.finished(this.run.runId, nodeId);
    return canaryComplete(this.run.canary, after) && (await this.canaries.claimAsk(this.run.runId, nodeId));
  }

  /** The canary's decision: recorded once; abort stops the run as abort does; either way the held nodes go back to the gate. */
  async canaryDecided(decision: unknown, by: string, byTimeout: boolean): Promise<{ decision: string }> {
    const { runId } = this.run;
    const decided = isCanaryDecision(decision) ? decision : 'abort';
    await this.canaries.decide(runId, decided, by, now(), byTimeout);
    const state = await this.canaries.get(runId);
    if (state?.decision === 'abort') {
      await this.store.markRunStopping(
        runId,
        `the run stopped: abort decided after the canary (${state.nodes.join(', ')}) by ${state.decidedBy ?? by}${state.byTimeout ? ' (timeout)' : ''}`,
        now(),
      );
    }
    await this.release();
    return { decision: state?.decision ?? decided };
  }

  /** After a node finished: the alarms again (after the bake); a firing one asks (`askHealth`), or holds new nodes while another node asks. */
  async checkHealth(nodeId: string): Promise<{ askHealth: boolean }> {
    const health: HealthAnswer = await this.health.check(nodeId, now);
    return { askHealth: 'askHealth' in health };
  }

  /** The health question's decision: recorded once; abort stops the run as abort does; either way the held nodes go back to the gate. */
  async healthDecided(decision: unknown, by: string, byTimeout: boolean): Promise<{ decision: string }> {
    const state = await this.health.decided(decision, by, byTimeout, now);
    if (state.decision === 'abort') {
      await this.store.markRunStopping(
        this.run.runId,
        `the run stopped: abort decided on health alarm ${state.alarms.join(', ')} by ${state.decidedBy ?? by}${state.byTimeout === true ? ' (timeout)' : ''}`,
        now(),
      );
    }
    await this.release();
    return { decision: state.decision };
  }
}
