import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FleetStore } from '../../adapters/store.js';
import { Table } from '../../adapters/table.js';
import { WindowStore } from '../../adapters/window-store.js';
import { nodeDurations, recordDurations } from '../../core/window.js';
import type { ClusterFile } from '../../local/cluster-file.js';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { TABLE_NAME } from '../../local/rehearsal.js';
import { STORE_TABLE_KEYS, createTable, localDynamoDbClient } from '../../local/dynamodb/table.js';

/**
 * Records an earlier run of `cluster` in the rehearsal's table as the stack records one: its plan, and the
 * node durations its summary keeps, each node's window (pre-upgrade validation start to post-upgrade
 * validation end) taking `seconds[nodeId]`. The window cutoff estimates from such runs.
 */
export async function recordEarlierRun(
  dynamodb: LocalDynamoDb,
  cluster: ClusterFile,
  seconds: Record<string, number>,
  runId = `${cluster.cluster}-earlier`.slice(0, 80),
): Promise<void> {
  await createTable(dynamodb.endpoint, STORE_TABLE_KEYS, TABLE_NAME);
  const client = localDynamoDbClient(dynamodb.endpoint);
  try {
    const db = DynamoDBDocumentClient.from(client);
    const store = new FleetStore(db, TABLE_NAME);
    const startedAt = '2026-11-01T02:00:00.000Z';
    const nodes = cluster.nodes.filter((n) => seconds[n.id] !== undefined);
    await store.putRun({
      runId,
      cluster: cluster.cluster,
      targetVersion: '3.0.0',
      coreNode: '',
      startedAt,
      plannedFrom: {},
      order: nodes.map((n) => n.id),
      roles: Object.fromEntries(nodes.map((n) => [n.id, n.roles])),
    });
    // As its summary records them, from its checkpoints (one node's window: validation start to validation end).
    const iso = (ms: number) => new Date(ms).toISOString();
    const checkpoints = nodes.flatMap((n) => {
      const took = (seconds[n.id] as number) * 1000;
      const start = Date.parse(startedAt);
      return (['pre-upgrade-validation', 'post-upgrade-validation'] as const).map((step, i) => ({
        nodeId: n.id,
        step,
        status: 'SUCCEEDED' as const,
        exitCode: 0,
        warnings: [],
        startedAt: iso(start + (i === 0 ? 0 : took - 1000)),
        finishedAt: iso(start + (i === 0 ? 1000 : took)),
      }));
    });
    await new WindowStore(new Table(db, TABLE_NAME)).putDurations(
      runId,
      recordDurations(nodeDurations(checkpoints, Object.fromEntries(nodes.map((n) => [n.id, n.roles])))),
    );
  } finally {
    client.destroy();
  }
}
