import { releasesHeldNodes } from '../core/hold.js';
import { pauseCheck, pauseKeepsHeld } from '../core/pause.js';
import { canaryKeepsHeld } from '../core/canary.js';
import { healthKeepsHeld } from '../core/health.js';
import type { CanaryStore } from './canary-store.js';
import type { HealthStore } from './health-store.js';
import type { PauseStore } from './pause-store.js';
import type { FleetStore } from './store.js';
import type { TaskCallback } from './task-callback.js';

/** What releasing a run's held nodes needs: its records, its pause, and a way to answer waiting states. */
export interface HeldRelease {
  store: FleetStore;
  pauses: PauseStore;
  canaries: CanaryStore;
  /** The run's health gate, when it has one: an open health question keeps nodes held. */
  healths?: HealthStore;
  callback: TaskCallback;
}

/** What of the run's input the release needs: its pause limit and its canary size. */
export interface HoldSettings {
  pauseLimitSeconds: number;
  canary: number;
  /** The run watches health alarms (input `healthAlarms`). */
  health?: boolean;
}

/**
 * Lets the held nodes go back to "May this node start?" once nothing holds the run any more (no open question,
 * no open pause, no undecided canary or health question), or once it stops. Each waiting state is answered first and its wait recorded after: a crash in
 * between leaves a node that moved on, never one waiting for an answer nobody will send. Called by whoever
 * removed a hold (record-node, `fleet-upgrade resume`) and by a node that just registered as held (the
 * hold may have gone between its gate and its registration). Returns the nodes released.
 */
export async function releaseHeldNodes(r: HeldRelease, runId: string, settings: HoldSettings, now: () => string): Promise<string[]> {
  const [stop, holds, pause, canary, health] = await Promise.all([
    r.store.runStopping(runId),
    r.store.openHolds(runId),
    r.pauses.open(runId),
    settings.canary > 0 ? r.canaries.get(runId) : null,
    settings.health === true && r.healths !== undefined ? r.healths.get(runId) : null,
  ]);
  if (!releasesHeldNodes(stop, holds) || pauseKeepsHeld(pauseCheck(pause, settings.pauseLimitSeconds, now()), stop !== null)) return [];
  if (canaryKeepsHeld(settings.canary, canary, stop !== null) || healthKeepsHeld(health, stop !== null)) return [];
  const waiting = (await r.store.heldNodes(runId)).filter((h) => h.taskToken !== undefined);
  await Promise.all(
    waiting.map(async (held) => {
      const at = now();
      await r.callback.succeed(held.taskToken as string, { released: true });
      await r.store.releaseHeldNode(runId, held, at);
    }),
  );
  return waiting.map((h) => h.nodeId);
}
