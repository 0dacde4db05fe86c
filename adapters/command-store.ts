import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { StepId } from '../core/steps.js';
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

/** The task tokens waiting for SSM commands (`COMMAND#id`), and who may answer each. */
export class CommandStore {
  constructor(private readonly table: Table) {}

  async getCommand(commandId: string): Promise<(PendingCommand & { state: string }) | null> {
    const out = await this.table.db.send(new GetCommand({ TableName: this.table.name, Key: commandKey(commandId) }));
    return (out.Item as (PendingCommand & { state: string }) | undefined) ?? null;
  }

  /** Registers a step's command as PENDING (FleetStore.recordCommand then points the step's checkpoint at it). */
  async putCommand(command: PendingCommand): Promise<void> {
    await this.table.db.send(new PutCommand({ TableName: this.table.name, Item: { ...commandKey(command.commandId), ...command, state: 'PENDING' } }));
  }

  /**
   * Takes the right to answer a command's task, once:
   *
   *   PENDING ──claim──► ANSWERING ──answered──► ANSWERED
   *      ▲                   │
   *      └──(answer failed)──┤──(task no longer waits)──► STALE   (a retry of the step takes the result)
   *
   * Returns the claimed command with the token it answers now (run-step may have re-pointed it), or null
   * when someone else claimed it first (a duplicate event, or the reconcile after a timeout).
   */
  async claimCommand(commandId: string, now: Date): Promise<(PendingCommand & { state: string }) | null> {
    const claim = await this.tryClaimCommand(commandId, now);
    return claim.outcome === 'claimed' ? claim.command : null;
  }

  /**
   * claimCommand in one request, saying why a claim failed: the command is not recorded (yet: run-step
   * records it just after SendCommand, and a quick command can end first), or it is no longer PENDING.
   */
  async tryClaimCommand(
    commandId: string,
    now: Date,
  ): Promise<{ outcome: 'claimed'; command: PendingCommand & { state: string } } | { outcome: 'missing' } | { outcome: 'taken'; state: string }> {
    try {
      const out = await this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: commandKey(commandId),
          UpdateExpression: 'SET #state = :answering, claimedAt = :at',
          ConditionExpression: '#state = :pending',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':answering': 'ANSWERING', ':pending': 'PENDING', ':at': now.toISOString() },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { outcome: 'claimed', command: out.Attributes as PendingCommand & { state: string } };
    } catch (error) {
      // The exception carries the old item unconverted (DynamoDB's attribute-value form): only its state is read.
      if (error instanceof ConditionalCheckFailedException) {
        const state = error.Item?.state?.S;
        return state === undefined ? { outcome: 'missing' } : { outcome: 'taken', state };
      }
      throw error;
    }
  }

  /** Ends a claim: ANSWERED (the task took the result), STALE (it no longer waited) or back to PENDING (answering failed). */
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
  async repointCommand(commandId: string, taskToken: string): Promise<boolean> {
    try {
      await this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: commandKey(commandId),
          UpdateExpression: 'SET taskToken = :token',
          ConditionExpression: '#state = :pending',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':token': taskToken, ':pending': 'PENDING' },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
