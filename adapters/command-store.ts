import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { StepId } from '../core/steps.js';
import { ifConditionFails, written } from './if-condition-fails.js';
import { commandKey } from './keys.js';
import type { Table } from './table.js';

/** A command waiting for its completion event. */
export interface PendingCommand {
  commandId: string;
  taskToken: string;
  runId: string;
  cluster: string;
  nodeId: string;
  step: StepId;
  targetVersion: string;
  /** A failure of this step becomes a warning (an inspect step with ignoreInspectFailures: core/step-result's failureIgnored). */
  ignoreFailure?: boolean;
  sentAt: string;
  /** The execution timeout SSM was given: past it (plus slack) a command still in progress has lost its node. */
  timeoutSeconds?: number;
  /** Epoch seconds: DynamoDB TTL (attribute `ttl`) removes the token once nobody can use it. */
  ttl: number;
}

/** A command as stored: what was registered, and where its claim stands (PENDING, ANSWERING, ANSWERED, STALE). */
export type StoredCommand = PendingCommand & { state: string };

/** Why a claim was made or not: the command is not recorded (yet), or someone else claimed it first. */
export type CommandClaim = { outcome: 'claimed'; command: StoredCommand } | { outcome: 'missing' } | { outcome: 'taken'; state: string };

/**
 * The task tokens waiting for SSM commands (`COMMAND#id`), and who may answer each:
 *
 *   PENDING ──claim──► ANSWERING ──answered──► ANSWERED
 *      ▲                   │
 *      └──(answer failed)──┤──(task no longer waits)──► STALE   (a retry of the step takes the result)
 */
export interface CommandStore {
  getCommand(commandId: string): Promise<StoredCommand | null>;
  /** Registers a step's command as PENDING (FleetStore.recordCommand then points the step's checkpoint at it). */
  putCommand(command: PendingCommand): Promise<void>;
  /** Takes the right to answer the command's task, once: the command with the token it answers now, or null when taken. */
  claimCommand(commandId: string, now: Date): Promise<StoredCommand | null>;
  /** claimCommand, saying why a claim failed. */
  tryClaimCommand(commandId: string, now: Date): Promise<CommandClaim>;
  /** Ends a claim: ANSWERED (the task took the result), STALE (it no longer waited) or back to PENDING (answering failed). */
  settleCommand(commandId: string, state: 'ANSWERED' | 'STALE' | 'PENDING', now: Date): Promise<void>;
  /** Points a PENDING command at a retried task's token; false when the command was claimed meanwhile. */
  repointCommand(commandId: string, taskToken: string): Promise<boolean>;
}

const pending = '#state = :pending';

/** Commands in the single table, one item each. */
export class DynamoDBCommandStore implements CommandStore {
  constructor(private readonly table: Table) {}

  async getCommand(commandId: string): Promise<StoredCommand | null> {
    return ((await this.table.get(commandKey(commandId))) as StoredCommand | undefined) ?? null;
  }

  async putCommand(command: PendingCommand): Promise<void> {
    await this.table.db.send(new PutCommand({ TableName: this.table.name, Item: { ...commandKey(command.commandId), ...command, state: 'PENDING' } }));
  }

  /**
   * The token is the one it answers now (run-step may have re-pointed it); null when someone else claimed it
   * first (a duplicate event, or the reconcile after a timeout).
   */
  async claimCommand(commandId: string, now: Date): Promise<StoredCommand | null> {
    const claim = await this.tryClaimCommand(commandId, now);
    return claim.outcome === 'claimed' ? claim.command : null;
  }

  /**
   * claimCommand in one request, saying why a claim failed: the command is not recorded (yet: run-step
   * records it just after SendCommand, and a quick command can end first), or it is no longer PENDING.
   */
  async tryClaimCommand(commandId: string, now: Date): Promise<CommandClaim> {
    const claim = this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: commandKey(commandId),
        UpdateExpression: 'SET #state = :answering, claimedAt = :at',
        ConditionExpression: pending,
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':answering': 'ANSWERING', ':pending': 'PENDING', ':at': now.toISOString() },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return ifConditionFails(
      claim.then((out): CommandClaim => ({ outcome: 'claimed', command: out.Attributes as StoredCommand })),
      (old): CommandClaim => {
        const state = old?.state?.S;
        return state === undefined ? { outcome: 'missing' } : { outcome: 'taken', state };
      },
    );
  }

  async settleCommand(commandId: string, state: 'ANSWERED' | 'STALE' | 'PENDING', now: Date): Promise<void> {
    await this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: commandKey(commandId),
        UpdateExpression: 'SET #state = :state, settledAt = :at',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':state': state, ':at': now.toISOString() },
      }),
    );
  }

  /**
   * A retried step task takes over the command its earlier attempt started (the node never runs the step
   * twice): the completion then answers the new token. False when the command was claimed meanwhile.
   */
  repointCommand(commandId: string, taskToken: string): Promise<boolean> {
    return written(
      this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: commandKey(commandId),
          UpdateExpression: 'SET taskToken = :token',
          ConditionExpression: pending,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':token': taskToken, ':pending': 'PENDING' },
        }),
      ),
    );
  }
}
