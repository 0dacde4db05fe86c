import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { NodeOutcome, StepCheckpoint } from '../core/summary.js';
import { DynamoDBApprovalStore, type ApprovalStore } from './approval-store.js';
import { DynamoDBCheckpointStore, type CheckpointStore } from './checkpoint-store.js';
import { DynamoDBCommandStore, type CommandStore, type PendingCommand } from './command-store.js';
import { DynamoDBHoldStore, type HeldNode, type HoldStore } from './hold-store.js';
import { DynamoDBLockStore, type LockStore } from './lock-store.js';
import { DynamoDBNodeStore, type NodeStore } from './node-store.js';
import { DynamoDBOutcomeStore, type OutcomeStore } from './outcome-store.js';
import { DynamoDBRunStore, type RunStore } from './run-store.js';
import { Table } from './table.js';

export type { ReminderRecord, StoredApproval } from './approval-store.js';
export type { PendingCommand } from './command-store.js';
export type { HeldNode, RunHold } from './hold-store.js';
export type { PlannedNode } from './plan-items.js';

/**
 * The fleet's records in the single table (its layout: keys.ts), one port per record kind (lock, runs and their
 * plans, node records, outcomes, checkpoints, commands, approvals, holds) with its DynamoDB adapter beside it.
 * One object serves every handler: its methods pass through to the ports, and the few that span two kinds
 * (recordCommand, recordOutcome, runRecords) say in which order they write or read them. New code may take
 * the port it needs (`store.locks`, `store.checkpoints`, …) instead of the whole store.
 */
export class FleetStore {
  readonly locks: LockStore;
  readonly runs: RunStore;
  readonly nodes: NodeStore;
  readonly outcomes: OutcomeStore;
  readonly checkpoints: CheckpointStore;
  readonly commands: CommandStore;
  readonly approvals: ApprovalStore;
  readonly holds: HoldStore;

  constructor(db: DynamoDBDocumentClient, table: string) {
    const records = new Table(db, table);
    this.locks = new DynamoDBLockStore(records);
    this.runs = new DynamoDBRunStore(records);
    this.nodes = new DynamoDBNodeStore(records);
    this.outcomes = new DynamoDBOutcomeStore(records);
    this.checkpoints = new DynamoDBCheckpointStore(records);
    this.commands = new DynamoDBCommandStore(records);
    this.approvals = new DynamoDBApprovalStore(records);
    this.holds = new DynamoDBHoldStore(records);
  }

  /**
   * Registers a step's command, then points its RUNNING checkpoint at it. In this order: a retry that finds
   * the checkpoint pointing at a command must find the command too (else it would send the step again).
   * Not one transaction: the status event's claim may write the command item at the same moment, and a
   * transaction would make that a TransactionConflict for one of them; both writes are done before a
   * script of any length ends, so they cost the step no time.
   */
  async recordCommand(command: PendingCommand): Promise<void> {
    await this.commands.putCommand(command);
    await this.checkpoints.setCheckpointCommand(command.runId, command.nodeId, command.step, command.commandId, command.timeoutSeconds);
  }

  /** Records how a node's part of the run ended, then what that leaves on the node's own record. */
  async recordOutcome(cluster: string, runId: string, roles: string[], outcome: NodeOutcome): Promise<void> {
    await this.outcomes.putOutcome(runId, outcome);
    await this.nodes.recordOutcomeOnNode(cluster, runId, roles, outcome);
  }

  /**
   * What a run recorded, for the summary at its end (which needs every node): its step checkpoints (node and
   * cluster steps), node outcomes and held nodes, each kind read by its own prefix (not the plan, holds or stop
   * mark), strongly consistent: the summary and a stopped run's cleanup judge what a step wrote just before.
   */
  async runRecords(runId: string): Promise<{ checkpoints: StepCheckpoint[]; outcomes: NodeOutcome[]; held: HeldNode[] }> {
    const [checkpoints, outcomes, held] = await Promise.all([
      this.checkpoints.runCheckpoints(runId),
      this.outcomes.runOutcomes(runId),
      this.holds.heldNodes(runId),
    ]);
    return { checkpoints, outcomes, held };
  }

  // The rest pass straight through to the port of their record kind.

  readonly acquireLock: LockStore['acquireLock'] = (...a) => this.locks.acquireLock(...a);
  readonly renewLock: LockStore['renewLock'] = (...a) => this.locks.renewLock(...a);
  readonly releaseLock: LockStore['releaseLock'] = (...a) => this.locks.releaseLock(...a);
  readonly getLock: LockStore['getLock'] = (...a) => this.locks.getLock(...a);

  readonly putRun: RunStore['putRun'] = (...a) => this.runs.putRun(...a);
  readonly getRun: RunStore['getRun'] = (...a) => this.runs.getRun(...a);
  readonly getRunRecord: RunStore['getRunRecord'] = (...a) => this.runs.getRunRecord(...a);
  readonly runFacts: RunStore['runFacts'] = (...a) => this.runs.runFacts(...a);
  readonly listRuns: RunStore['listRuns'] = (...a) => this.runs.listRuns(...a);
  readonly plannedNodes: RunStore['plannedNodes'] = (...a) => this.runs.plannedNodes(...a);
  readonly plannedRoles: RunStore['plannedRoles'] = (...a) => this.runs.plannedRoles(...a);
  readonly markStarted: RunStore['markStarted'] = (...a) => this.runs.markStarted(...a);
  readonly completeRun: RunStore['completeRun'] = (...a) => this.runs.completeRun(...a);

  readonly knownVersions: NodeStore['knownVersions'] = (...a) => this.nodes.knownVersions(...a);
  readonly getNodeRecord: NodeStore['getNodeRecord'] = (...a) => this.nodes.getNodeRecord(...a);
  readonly nodeRecords: NodeStore['nodeRecords'] = (...a) => this.nodes.nodeRecords(...a);

  readonly runOutcomes: OutcomeStore['runOutcomes'] = (...a) => this.outcomes.runOutcomes(...a);
  readonly nodeOutcomes: OutcomeStore['nodeOutcomes'] = (...a) => this.outcomes.nodeOutcomes(...a);

  readonly startCheckpoint: CheckpointStore['startCheckpoint'] = (...a) => this.checkpoints.startCheckpoint(...a);
  readonly finishCheckpoint: CheckpointStore['finishCheckpoint'] = (...a) => this.checkpoints.finishCheckpoint(...a);
  readonly setCheckpointCommand: CheckpointStore['setCheckpointCommand'] = (...a) => this.checkpoints.setCheckpointCommand(...a);
  readonly putCheckpoint: CheckpointStore['putCheckpoint'] = (...a) => this.checkpoints.putCheckpoint(...a);
  readonly getCheckpoint: CheckpointStore['getCheckpoint'] = (...a) => this.checkpoints.getCheckpoint(...a);
  readonly runCheckpoints: CheckpointStore['runCheckpoints'] = (...a) => this.checkpoints.runCheckpoints(...a);
  readonly nodeCheckpoints: CheckpointStore['nodeCheckpoints'] = (...a) => this.checkpoints.nodeCheckpoints(...a);

  readonly getCommand: CommandStore['getCommand'] = (...a) => this.commands.getCommand(...a);
  readonly claimCommand: CommandStore['claimCommand'] = (...a) => this.commands.claimCommand(...a);
  readonly tryClaimCommand: CommandStore['tryClaimCommand'] = (...a) => this.commands.tryClaimCommand(...a);
  readonly settleCommand: CommandStore['settleCommand'] = (...a) => this.commands.settleCommand(...a);
  readonly repointCommand: CommandStore['repointCommand'] = (...a) => this.commands.repointCommand(...a);

  readonly putApproval: ApprovalStore['putApproval'] = (...a) => this.approvals.putApproval(...a);
  readonly getApproval: ApprovalStore['getApproval'] = (...a) => this.approvals.getApproval(...a);
  readonly claimApproval: ApprovalStore['claimApproval'] = (...a) => this.approvals.claimApproval(...a);
  readonly unclaimApproval: ApprovalStore['unclaimApproval'] = (...a) => this.approvals.unclaimApproval(...a);
  readonly recordLateAttempt: ApprovalStore['recordLateAttempt'] = (...a) => this.approvals.recordLateAttempt(...a);
  readonly recordReminder: ApprovalStore['recordReminder'] = (...a) => this.approvals.recordReminder(...a);
  readonly pendingApprovals: ApprovalStore['pendingApprovals'] = () => this.approvals.pendingApprovals();

  readonly markRunStopping: HoldStore['markRunStopping'] = (...a) => this.holds.markRunStopping(...a);
  readonly runStopping: HoldStore['runStopping'] = (...a) => this.holds.runStopping(...a);
  readonly openHold: HoldStore['openHold'] = (...a) => this.holds.openHold(...a);
  readonly closeHold: HoldStore['closeHold'] = (...a) => this.holds.closeHold(...a);
  readonly openHolds: HoldStore['openHolds'] = (...a) => this.holds.openHolds(...a);
  readonly holdNode: HoldStore['holdNode'] = (...a) => this.holds.holdNode(...a);
  readonly heldNodes: HoldStore['heldNodes'] = (...a) => this.holds.heldNodes(...a);
  readonly releaseHeldNode: HoldStore['releaseHeldNode'] = (...a) => this.holds.releaseHeldNode(...a);
}
