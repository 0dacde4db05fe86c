import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { written } from './if-condition-fails.js';
import { SK_PREFIX, heldKey, holdKey, runPk, stopKey } from './keys.js';
import { strings, type Table } from './table.js';

/** An open question that holds the run (`RUN#id` / `HOLD#node`). */
export interface RunHold {
  nodeId: string;
  step: string;
  at: string;
}

/** A node held by open questions (`RUN#id` / `HELD#node`): `taskToken` and `since` while it waits. */
export interface HeldNode {
  nodeId: string;
  taskToken?: string;
  since?: string;
  /** Milliseconds waited in waits that ended. */
  heldMs: number;
  /** The nodes whose questions it waited for. */
  waitedFor: string[];
  releasedAt?: string;
}

function heldNodeOf(item: Record<string, unknown>): HeldNode {
  return {
    nodeId: String(item.nodeId),
    heldMs: Number(item.heldMs ?? 0),
    waitedFor: strings(item.waitedFor),
    ...(typeof item.taskToken === 'string' ? { taskToken: item.taskToken } : {}),
    ...(typeof item.since === 'string' ? { since: item.since } : {}),
    ...(typeof item.releasedAt === 'string' ? { releasedAt: item.releasedAt } : {}),
  };
}

/**
 * What keeps nodes of a run from starting: its stop mark (`RUN#id` / `STOP`), the open questions that hold it
 * (`HOLD#node`) and the nodes they hold (`HELD#node`). The reads a gate decides by are strongly consistent.
 */
export interface HoldStore {
  /** Marks the run as stopping: no node starts any more (nodes in flight finish theirs); the first reason is kept. */
  markRunStopping(runId: string, reason: string, at: string): Promise<void>;
  runStopping(runId: string): Promise<{ reason: string; at: string } | null>;
  /** Holds the run for a question about `nodeId`; re-opening an open hold keeps its first time. */
  openHold(runId: string, nodeId: string, step: string, at: string): Promise<void>;
  /** The question about `nodeId` is answered (its outcome is recorded); true when a hold was open. */
  closeHold(runId: string, nodeId: string): Promise<boolean>;
  openHolds(runId: string): Promise<RunHold[]>;
  /** A node waits for the open holds with the task token of its waiting state. */
  holdNode(runId: string, nodeId: string, taskToken: string, waitingFor: readonly string[], at: string): Promise<void>;
  /** The nodes held in this run, waiting or not. */
  heldNodes(runId: string): Promise<HeldNode[]>;
  /** Ends a node's wait (only the wait `held` was read in); false when it was not waiting in it any more. */
  releaseHeldNode(runId: string, held: HeldNode, at: string): Promise<boolean>;
}

const notYetWritten = 'attribute_not_exists(pk)';

/** The stop mark, holds and held nodes in the single table, under their run. */
export class DynamoDBHoldStore implements HoldStore {
  constructor(private readonly table: Table) {}

  async markRunStopping(runId: string, reason: string, at: string): Promise<void> {
    await written(
      this.table.db.send(new PutCommand({ TableName: this.table.name, Item: { ...stopKey(runId), reason, at }, ConditionExpression: notYetWritten })),
    );
  }

  /**
   * Read strongly consistent: a held node is released right after the stop mark is written, and an eventually
   * consistent read could miss it and let the node start after a rollback or abort was decided.
   */
  async runStopping(runId: string): Promise<{ reason: string; at: string } | null> {
    const item = await this.table.get(stopKey(runId), true);
    return item === undefined ? null : { reason: String(item.reason), at: String(item.at) };
  }

  /**
   * Holds the run for a question about `nodeId` (its step failed and the operator is asked): from now on no
   * node starts until the hold is closed. Re-opening an open hold (a retried ask) keeps its first time.
   */
  async openHold(runId: string, nodeId: string, step: string, at: string): Promise<void> {
    await written(
      this.table.db.send(
        new PutCommand({ TableName: this.table.name, Item: { ...holdKey(runId, nodeId), nodeId, step, at }, ConditionExpression: notYetWritten }),
      ),
    );
  }

  async closeHold(runId: string, nodeId: string): Promise<boolean> {
    const out = await this.table.db.send(new DeleteCommand({ TableName: this.table.name, Key: holdKey(runId, nodeId), ReturnValues: 'ALL_OLD' }));
    return out.Attributes !== undefined;
  }

  /**
   * The open holds, read strongly consistent: a node that registers as held and a node that closes the last
   * hold each read after their own write, so at least one of them sees the other (no held node is forgotten).
   */
  async openHolds(runId: string): Promise<RunHold[]> {
    const items = await this.table.query(runPk(runId), SK_PREFIX.hold, true);
    return items.map((i) => ({ nodeId: String(i.nodeId), step: String(i.step), at: String(i.at) }));
  }

  /**
   * A node waits for the open holds with the task token of its waiting state. A node held again (another
   * failure later) starts a new wait; the time it waited before is kept.
   */
  async holdNode(runId: string, nodeId: string, taskToken: string, waitingFor: readonly string[], at: string): Promise<void> {
    await this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: heldKey(runId, nodeId),
        UpdateExpression:
          'SET nodeId = :id, taskToken = :token, since = if_not_exists(since, :at), heldMs = if_not_exists(heldMs, :zero)' +
          (waitingFor.length > 0 ? ' ADD waitedFor :for' : ''),
        ExpressionAttributeValues: {
          ':id': nodeId,
          ':token': taskToken,
          ':at': at,
          ':zero': 0,
          ...(waitingFor.length > 0 ? { ':for': new Set(waitingFor) } : {}),
        },
      }),
    );
  }

  /** The nodes held in this run, waiting or not (strongly consistent, as `openHolds`). */
  async heldNodes(runId: string): Promise<HeldNode[]> {
    const items = await this.table.query(runPk(runId), SK_PREFIX.held, true);
    return items.map(heldNodeOf);
  }

  /**
   * Ends a node's wait: adds the time it waited and forgets its token. Conditional on the token, so a wait the
   * node started again meanwhile (its waiting state timed out and asked anew) is not ended by an older release.
   */
  async releaseHeldNode(runId: string, held: HeldNode, at: string): Promise<boolean> {
    if (held.taskToken === undefined || held.since === undefined) return false;
    const waited = Math.max(0, Date.parse(at) - Date.parse(held.since));
    const stillThisWait = 'taskToken = :token';
    return written(
      this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: heldKey(runId, held.nodeId),
          UpdateExpression: 'SET heldMs = heldMs + :waited, releasedAt = :at REMOVE taskToken, since',
          ConditionExpression: stillThisWait,
          ExpressionAttributeValues: { ':waited': waited, ':at': at, ':token': held.taskToken },
        }),
      ),
    );
  }
}
