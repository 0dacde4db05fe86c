import type { RunContext } from '../../core/run-context.js';
import type { StepResult } from '../../core/step-result.js';
import type { CaughtError, NodeOutcome } from '../../core/summary.js';
import type { ApprovalDecision } from '../../core/approval.js';
import type { GateAnswer } from '../../core/hold.js';
import type { PausedAnswer } from '../../core/pause.js';
import type { HealthAskAnswer } from '../../core/health.js';
import { RunStopped } from '../../core/errors.js';
import type { OutcomeAction } from '../../core/node-outcome.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { gate } from './gate.js';
import { recordNodeOutcome } from './outcome.js';
import { RunHolds } from './run-holds.js';

export interface RecordNodeEvent {
  /** How the node's part ended (core/node-outcome.ts), or one of the run's holds: gate, hold, checkStop, the canary's and the health gate's. */
  action: OutcomeAction | 'gate' | 'hold' | 'checkStop' | 'canaryDecided' | 'checkHealth' | 'healthDecided';
  /** hold: the token of the node's waiting state, answered when no question holds the run any more. */
  taskToken?: string;
  /** hold: the nodes whose questions the gate found open. */
  waitingFor?: string[];
  approval?: ApprovalDecision;
  rollbackFailed?: boolean;
  /**
   * Roles may be left out (the check before the window knows only ids): the run's plan has them. `resumedFrom`:
   * a node resumed after an earlier run switched it records the version it ran before that.
   */
  node: { id: string; roles?: string[]; resumedFrom?: string };
  run: RunContext;
  versionCheck?: StepResult;
  error?: CaughtError;
}

type Answer = NodeOutcome | (NodeOutcome & { askCanary: true }) | GateAnswer | PausedAnswer | HealthAskAnswer;

/**
 * Records how a node's part of the run ended, in the run and in the node's own record.
 * `gate`: may a node start (is the run stopping, held by an open question or a health alarm, or paused)?
 * `checkHealth`: the health alarms after a node finished; `healthDecided`: the operator's continue or abort on them. `hold`: the node waits for
 * the open questions or the pause (a task token). `checkStop`: throws RunStopped when a node stopped the run.
 */
export const handler = async (
  event: RecordNodeEvent,
): Promise<Answer | { held: boolean } | { stopped: false } | { decision: string } | { askHealth: boolean }> => {
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const holds = new RunHolds(store, requireEnv('TABLE_NAME'), event.run);
  const { runId } = event.run;
  const approval = event.approval;
  if (event.action === 'gate') return gate(store, holds, event.run, event.node.id);
  if (event.action === 'hold') {
    if (event.taskToken === undefined) throw new Error('hold needs the task token of the waiting state');
    // Registered before looking again: a question answered in between either sees this node or is seen here.
    await store.holdNode(runId, event.node.id, event.taskToken, event.waitingFor ?? [], new Date().toISOString());
    await holds.release();
    return { held: true };
  }
  // The operator's continue or abort after the canary or on a firing alarm (abort by timeout, or no usable decision: abort).
  if (event.action === 'canaryDecided') return holds.canaryDecided(approval?.decision, approval?.decidedBy ?? 'unknown', approval?.byTimeout !== false);
  if (event.action === 'healthDecided') return holds.healthDecided(approval?.decision, approval?.decidedBy ?? 'unknown', approval?.byTimeout !== false);
  if (event.action === 'checkHealth') return holds.checkHealth(event.node.id);
  if (event.action === 'checkStop') {
    const stop = await store.runStopping(runId);
    if (stop !== null) throw new RunStopped(stop.reason);
    return { stopped: false };
  }
  const { action, versionCheck, rollbackFailed, error } = event;
  return recordNodeOutcome(store, holds, event.run, event.node, { action, versionCheck, approval, rollbackFailed, error });
};
