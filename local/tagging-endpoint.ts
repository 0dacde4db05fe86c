import { AwsJsonError, startJsonProtocolServer, type JsonProtocolServer } from './json-protocol.js';
import { CLUSTER_TAG, ROLES_TAG } from '../core/node-tags.js';

/** A local instance as the Resource Groups Tagging API sees it: its id and its tags. */
export interface TaggedInstance {
  id: string;
  tags: Record<string, string>;
}

/**
 * The Resource Groups Tagging API's GetResources over loopback (JSON 1.1, `ResourceGroupsTaggingAPI_20170126`),
 * answered from the local instances: what discovery and the plan's cluster check read. TagFilters are ANDed
 * across keys and ORed across a key's values, as the API reference says; an empty PaginationToken ends the list.
 */
export async function startLocalTagging(instances: readonly TaggedInstance[], region = 'us-east-1', account = '000000000000'): Promise<JsonProtocolServer> {
  return startJsonProtocolServer({
    targetPrefix: 'ResourceGroupsTaggingAPI_20170126',
    contentType: 'application/x-amz-json-1.1',
    operations: {
      GetResources: (request) => {
        const filters = (request.TagFilters ?? []) as { Key?: string; Values?: string[] }[];
        const types = (request.ResourceTypeFilters ?? []) as string[];
        if (types.length > 0 && !types.includes('ec2:instance')) return { ResourceTagMappingList: [], PaginationToken: '' };
        const perPage = typeof request.ResourcesPerPage === 'number' ? request.ResourcesPerPage : 50;
        if (perPage < 1 || perPage > 100) throw new AwsJsonError('InvalidParameterException', 'ResourcesPerPage must be between 1 and 100');
        const matching = instances.filter((i) =>
          filters.every(
            (f) => f.Key !== undefined && f.Key in i.tags && (f.Values === undefined || f.Values.length === 0 || f.Values.includes(i.tags[f.Key] as string)),
          ),
        );
        const start = typeof request.PaginationToken === 'string' && request.PaginationToken !== '' ? Number(request.PaginationToken) : 0;
        const page = matching.slice(start, start + perPage);
        const next = start + perPage < matching.length ? String(start + perPage) : '';
        return {
          ResourceTagMappingList: page.map((i) => ({
            ResourceARN: `arn:aws:ec2:${region}:${account}:instance/${i.id}`,
            Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })),
          })),
          PaginationToken: next,
        };
      },
    },
  });
}

/** The sandbox cluster as tagged instances: every local node carries its cluster's tag and its roles. */
export function clusterInstances(cluster: string, nodes: readonly { id: string; roles: readonly string[] }[]): TaggedInstance[] {
  return nodes.map((n) => ({ id: n.id, tags: { [CLUSTER_TAG]: cluster, [ROLES_TAG]: n.roles.join(',') } }));
}
