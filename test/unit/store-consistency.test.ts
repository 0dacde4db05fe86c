import { describe, expect, it, afterAll } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { FleetStore } from '../../adapters/store.js';

// DynamoDB reads are eventually consistent unless ConsistentRead is set: "the response might not reflect the
// results of a recently completed write operation"
// (https://docs.amazonaws.cn/en_us/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html).
// The local engines (dynalite, DynamoDB Local) are always consistent, so only the requests themselves can show that the hold's reads ask for it.
describe('the reads that decide whether a node may start are strongly consistent', () => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const ddb = mockClient(DynamoDBDocumentClient);
  // Mocks patch the client classes for the whole process: undone for the files that run after this one.
  afterAll(() => {
    ddb.restore();
  });
  const store = new FleetStore(client, 't');

  it('the stop mark, the open questions and the held nodes', async () => {
    ddb.reset();
    ddb.on(GetCommand).resolves({});
    ddb.on(GetCommand, { ConsistentRead: true }).resolves({ Item: { reason: 'rollback decided for dea-1', at: 'now' } });
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(QueryCommand, { ConsistentRead: true }).resolves({ Items: [{ nodeId: 'dea-1', step: 'upgrade', at: 'now' }] });
    await expect(store.runStopping('r')).resolves.toEqual({ reason: 'rollback decided for dea-1', at: 'now' });
    await expect(store.openHolds('r')).resolves.toEqual([{ nodeId: 'dea-1', step: 'upgrade', at: 'now' }]);
    await expect(store.heldNodes('r')).resolves.toHaveLength(1);
  });
});
