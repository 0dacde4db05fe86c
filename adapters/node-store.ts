import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { NodeOutcome } from '../core/summary.js';
import { SK_PREFIX, clusterPk, nodeRecordKey } from './keys.js';
import { withoutKey, type Table } from './table.js';

/**
 * Each node's own record across runs (`CLUSTER#c` / `NODE#id`): its roles, version and previousVersion, status,
 * last run and the last decision about it. The plan reads the versions; the node's own check stays the authority.
 */
export interface NodeStore {
  /** Versions recorded for the cluster's nodes, by node id. */
  knownVersions(cluster: string): Promise<Map<string, string>>;
  getNodeRecord(cluster: string, nodeId: string): Promise<Record<string, unknown> | null>;
  /** Every node record of a cluster (without its key attributes). */
  nodeRecords(cluster: string): Promise<Record<string, unknown>[]>;
  /** What a node's outcome in a run leaves on its record: status and last run, the version when known, the decision. */
  recordOutcomeOnNode(cluster: string, runId: string, roles: string[], outcome: NodeOutcome): Promise<void>;
}

/** Node records in the single table, under their cluster. */
export class DynamoDBNodeStore implements NodeStore {
  constructor(private readonly table: Table) {}

  async knownVersions(cluster: string): Promise<Map<string, string>> {
    const known = new Map<string, string>();
    for (const item of await this.table.query(clusterPk(cluster), SK_PREFIX.nodeRecord)) {
      if (typeof item.version === 'string') known.set(String(item.nodeId), item.version);
    }
    return known;
  }

  async getNodeRecord(cluster: string, nodeId: string): Promise<Record<string, unknown> | null> {
    return (await this.table.get(nodeRecordKey(cluster, nodeId))) ?? null;
  }

  async nodeRecords(cluster: string): Promise<Record<string, unknown>[]> {
    return (await this.table.query(clusterPk(cluster), SK_PREFIX.nodeRecord)).map(withoutKey);
  }

  async recordOutcomeOnNode(cluster: string, runId: string, roles: string[], outcome: NodeOutcome): Promise<void> {
    // Only a known version is recorded: a node that failed after it changed waits for rollback to say where it is.
    const version = outcome.to;
    const previous = outcome.status === 'UPGRADED' && outcome.from !== null ? outcome.from : undefined;
    // The last decision about this node (who, signed in how), until an outcome without one replaces it.
    const decision =
      outcome.decision === undefined
        ? undefined
        : {
            decision: outcome.decision,
            by: outcome.decidedBy ?? 'unknown',
            byTimeout: outcome.byTimeout === true,
            runId,
            at: outcome.at,
            ...(outcome.decidedIdentity ? { identity: outcome.decidedIdentity } : {}),
          };
    await this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: nodeRecordKey(cluster, outcome.nodeId),
        UpdateExpression:
          'SET nodeId = :id, #roles = :roles, #status = :status, lastRun = :run, updatedAt = :at' +
          (version === null ? '' : ', version = :version') +
          (previous === undefined ? '' : ', previousVersion = :from') +
          (decision === undefined ? ' REMOVE lastDecision' : ', lastDecision = :decision'),
        ExpressionAttributeNames: { '#roles': 'roles', '#status': 'status' },
        ExpressionAttributeValues: {
          ':id': outcome.nodeId,
          ':roles': roles,
          ':status': outcome.status,
          ':run': runId,
          ':at': outcome.at,
          ...(version === null ? {} : { ':version': version }),
          ...(previous === undefined ? {} : { ':from': previous }),
          ...(decision === undefined ? {} : { ':decision': decision }),
        },
      }),
    );
  }
}
