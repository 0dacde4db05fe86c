import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { clusterMembers } from '../../adapters/discovery.js';
import { clusterInstances, startLocalTagging } from '../../local/tagging-endpoint.js';
import type { JsonProtocolServer } from '../../local/json-protocol.js';

/**
 * The local GetResources against the real SDK client, as the plan reads it: TagFilters select by the cluster tag's
 * value, each match comes with all its tags, pages of at most ResourcesPerPage end with an empty PaginationToken
 * (https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html).
 */
let tagging: JsonProtocolServer;
let client: ResourceGroupsTaggingAPIClient;
const blue = Array.from({ length: 230 }, (_, i) => ({ id: `blue-${i}`, roles: [i === 0 ? 'primary' : 'dea'] }));

beforeAll(async () => {
  tagging = await startLocalTagging([
    ...clusterInstances('blue', blue),
    ...clusterInstances('green', [{ id: 'green-1', roles: ['dea'] }]),
    { id: 'untagged-1', tags: {} },
  ]);
  client = new ResourceGroupsTaggingAPIClient({
    endpoint: tagging.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});
afterAll(async () => {
  client?.destroy();
  await tagging?.close();
});

describe('local tag:GetResources', () => {
  it('returns every node of the cluster, over pages, with its roles tag, and no node of another cluster or untagged', async () => {
    const members = await clusterMembers('blue', client);
    expect(members.size).toBe(230);
    expect(members.get('blue-0')).toBe('primary');
    expect(members.get('blue-229')).toBe('dea');
    for (const other of ['green-1', 'untagged-1']) expect(members.has(other)).toBe(false);
    await expect(clusterMembers('no-such-cluster', client)).resolves.toEqual(new Map());
  });
});
