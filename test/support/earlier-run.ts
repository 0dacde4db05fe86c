import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FleetStore } from '../../adapters/store.js';
import type { ClusterFile } from '../../local/cluster-file.js';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { TABLE_NAME, createTable } from '../../local/rehearsal.js';

/**
 * Records an earlier run of `cluster` in the rehearsal's table as the stack records one: its plan, and each
 * node's window (pre-upgrade validation start to post-upgrade validation end) taking `seconds[nodeId]`.
 * The window cutoff estimates from such runs.
 */
export async function recordEarlierRun(dynamodb: LocalDynamoDb, cluster: ClusterFile, seconds: Record<string, number>, runId = `${cluster.cluster}-earlier`.slice(0, 80)): Promise<void> {
  await createTable(dynamodb.endpoint, {
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
  });
  const client = new DynamoDBClient({ endpoint: dynamodb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const store = new FleetStore(DynamoDBDocumentClient.from(client), TABLE_NAME);
    const startedAt = '2026-11-01T02:00:00.000Z';
    const nodes = cluster.nodes.filter((n) => seconds[n.id] !== undefined);
    await store.putRun({
      runId, cluster: cluster.cluster, targetVersion: '3.0.0', coreNode: '', startedAt, plannedFrom: {},
      order: nodes.map((n) => n.id), roles: Object.fromEntries(nodes.map((n) => [n.id, n.roles])),
    });
    const iso = (ms: number) => new Date(ms).toISOString();
    let t = Date.parse(startedAt);
    for (const n of nodes) {
      const took = (seconds[n.id] as number) * 1000;
      await store.putCheckpoint(runId, { nodeId: n.id, step: 'pre-upgrade-validation', status: 'SUCCEEDED', exitCode: 0, warnings: [], startedAt: iso(t), finishedAt: iso(t + Math.min(5_000, took)) });
      await store.putCheckpoint(runId, { nodeId: n.id, step: 'post-upgrade-validation', status: 'SUCCEEDED', exitCode: 0, warnings: [], startedAt: iso(t + Math.max(0, took - 5_000)), finishedAt: iso(t + took) });
      t += took;
    }
  } finally {
    client.destroy();
  }
}
