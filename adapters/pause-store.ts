import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PauseReport, RunPause } from '../core/pause.js';
import { ifConditionFails, written } from './if-condition-fails.js';
import { pauseKey } from './keys.js';
import type { Table } from './table.js';

/**
 * A run's pause (`RUN#id` / `PAUSE`), one item per run, reused by each pause:
 *
 *   (none) ──pause──► PAUSED ──resume──► RESUMED ──pause──► PAUSED …
 *                       ├──(its limit passes; the gate sees it)──► EXPIRED: the run stops as abort does
 *                       └──(the run ends while paused)──────────► ENDED
 *
 * Every move is a conditional write on the state (and the pause's time), so two operators, or an operator and
 * the gate, never both win: a resume that comes after the limit was seen finds EXPIRED and says so.
 */
export type PauseState = 'PAUSED' | 'RESUMED' | 'EXPIRED' | 'ENDED';

/** The stored pause: the open one (`PAUSED`) or the last one and how it ended. */
export interface PauseRecord extends RunPause {
  state: PauseState;
  /** Milliseconds the run spent paused in pauses that ended. */
  pausedMs: number;
  endedAt?: string;
  endedBy?: string;
}

/** The outcome of `pause`: paused now, or already paused (by whom, since when). */
export type PauseResult = { paused: true; pause: PauseRecord } | { paused: false; existing: PauseRecord };

const PAUSED = ':paused';

export function pauseRecordOf(item: Record<string, unknown>): PauseRecord {
  return {
    state: String(item.state) as PauseState,
    pausedAt: String(item.pausedAt),
    pausedBy: String(item.pausedBy),
    pausedMs: Number(item.pausedMs ?? 0),
    ...(typeof item.reason === 'string' ? { reason: item.reason } : {}),
    ...(typeof item.endedAt === 'string' ? { endedAt: item.endedAt } : {}),
    ...(typeof item.endedBy === 'string' ? { endedBy: item.endedBy } : {}),
  };
}

/** Whether a run is paused, and the moves between its pause states. */
export class PauseStore {
  constructor(private readonly table: Table) {}

  /** Strongly consistent: the gate must not start a node a moment after the pause was written. */
  async get(runId: string): Promise<PauseRecord | null> {
    const item = await this.table.get(pauseKey(runId), true);
    return item === undefined ? null : pauseRecordOf(item);
  }

  /** The open pause as the gate needs it, or null. */
  async open(runId: string): Promise<PauseRecord | null> {
    const pause = await this.get(runId);
    return pause?.state === 'PAUSED' ? pause : null;
  }

  /** Pauses the run unless it is paused already. */
  async pause(runId: string, by: string, at: string, reason?: string): Promise<PauseResult> {
    // A pause reuses the item: the last one's end (and its reason, when this one gives none) goes.
    const set = `SET #state = ${PAUSED}, pausedAt = :at, pausedBy = :by, pausedMs = if_not_exists(pausedMs, :zero)${reason ? ', reason = :reason' : ''}`;
    const pause = this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: pauseKey(runId),
        UpdateExpression: `${set} REMOVE endedAt, endedBy${reason ? '' : ', reason'}`,
        ConditionExpression: `attribute_not_exists(pk) OR #state <> ${PAUSED}`,
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { [PAUSED]: 'PAUSED', ':at': at, ':by': by, ':zero': 0, ...(reason ? { ':reason': reason } : {}) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return ifConditionFails(
      pause.then((out): PauseResult => ({ paused: true, pause: pauseRecordOf(out.Attributes ?? {}) })),
      async (_old, error): Promise<PauseResult> => {
        const existing = await this.get(runId);
        if (existing === null) throw error;
        return { paused: false, existing };
      },
    );
  }

  /**
   * Ends the open pause: RESUMED (an operator), EXPIRED (its limit passed) or ENDED (the run ended). Conditional
   * on the very pause that was read, so a pause ended and opened again meanwhile is not ended by a late call.
   */
  async end(runId: string, pause: RunPause, state: Exclude<PauseState, 'PAUSED'>, by: string, at: string): Promise<boolean> {
    const waited = Math.max(0, Date.parse(at) - Date.parse(pause.pausedAt));
    return written(
      this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: pauseKey(runId),
          UpdateExpression: 'SET #state = :ended, endedAt = :at, endedBy = :by, pausedMs = pausedMs + :waited',
          ConditionExpression: `#state = ${PAUSED} AND pausedAt = :pausedAt`,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':ended': state, ':at': at, ':by': by, ':waited': waited, [PAUSED]: 'PAUSED', ':pausedAt': pause.pausedAt },
        }),
      ),
    );
  }

  /** At the run's end: a pause still open ends with the run (ENDED); the last pause as the summary reports it. */
  async settle(runId: string, at: string): Promise<PauseReport | undefined> {
    let pause = await this.get(runId);
    if (pause === null) return undefined;
    if (pause.state === 'PAUSED') {
      await this.end(runId, pause, 'ENDED', 'the end of the run', at);
      pause = (await this.get(runId)) ?? pause;
    }
    return {
      pausedBy: pause.pausedBy,
      pausedAt: pause.pausedAt,
      state: pause.state,
      ...(pause.endedBy ? { endedBy: pause.endedBy } : {}),
      seconds: Math.round(pause.pausedMs / 100) / 10,
    };
  }
}
