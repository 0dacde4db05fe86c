import { GetResourcesCommand, type ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { DescribeInstanceInformationCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { PlanError } from '../core/errors.js';
import { NODE_ID_PATTERN, ROLE_PATTERN, type NodeSpec } from '../core/input-schema.js';
import { CLUSTER_TAG, ROLES_TAG } from '../core/node-tags.js';
import { taggingClient, ssmClient } from './aws-clients.js';

/** `arn:aws:ec2:…:instance/i-0abc` or `arn:aws:ssm:…:managed-instance/mi-0abc` → the instance id. */
function instanceIdOf(arn: string): string | null {
  const match = /:(?:instance|managed-instance)\/([A-Za-z0-9-]+)$/.exec(arn);
  return match?.[1] ?? null;
}

function parseRoles(id: string, value: string | undefined): string[] {
  const roles = (value ?? '').split(/[\s,]+/).filter((r) => r !== '');
  const bad = roles.find((r) => !ROLE_PATTERN.test(r));
  if (bad !== undefined) {
    throw new PlanError(`node ${id}: tag ${ROLES_TAG} holds ${JSON.stringify(bad)}, which is not a role name (lower-case letters, digits, "-" or "_")`);
  }
  return [...new Set(roles)];
}

/**
 * Every EC2 instance or hybrid managed instance tagged `fleet-upgrade:cluster=<cluster>` in the function's
 * region, with the value of its `fleet-upgrade:roles` tag (GetResources returns all tags of each match).
 */
export async function clusterMembers(cluster: string, tagging: ResourceGroupsTaggingAPIClient = taggingClient()): Promise<Map<string, string | undefined>> {
  const tagged = new Map<string, string | undefined>();
  let token: string | undefined;
  do {
    const page = await tagging.send(
      new GetResourcesCommand({
        TagFilters: [{ Key: CLUSTER_TAG, Values: [cluster] }],
        ResourceTypeFilters: ['ec2:instance', 'ssm:managed-instance'],
        ResourcesPerPage: 100,
        ...(token ? { PaginationToken: token } : {}),
      }),
    );
    for (const resource of page.ResourceTagMappingList ?? []) {
      const id = instanceIdOf(resource.ResourceARN ?? '');
      if (id === null || !NODE_ID_PATTERN.test(id)) continue;
      tagged.set(id, resource.Tags?.find((t) => t.Key === ROLES_TAG)?.Value);
    }
    token = page.PaginationToken === '' ? undefined : page.PaginationToken;
  } while (token !== undefined);
  return tagged;
}

/**
 * The cluster's nodes, found by tag: every EC2 instance or hybrid managed instance tagged
 * `fleet-upgrade:cluster=<cluster>`, its roles from `fleet-upgrade:roles`. Every node must be online in
 * SSM, or planning fails naming the nodes that are not — before anything is touched.
 */
export async function discoverNodes(
  cluster: string,
  clients: { tagging: ResourceGroupsTaggingAPIClient; ssm: SSMClient } = { tagging: taggingClient(), ssm: ssmClient() },
  /** Which nodes the run will send commands to (`only`: core/node-selection's mayBeSentCommands); the others may be offline. */
  needsOnline: (node: NodeSpec) => boolean = () => true,
): Promise<NodeSpec[]> {
  const tagged = new Map([...(await clusterMembers(cluster, clients.tagging))].map(([id, roles]) => [id, parseRoles(id, roles)]));
  if (tagged.size === 0) throw new PlanError(`no instance is tagged ${CLUSTER_TAG}=${cluster}; tag the cluster's nodes or list them in "nodes"`);

  const ping = new Map<string, string>();
  let next: string | undefined;
  do {
    const page = await clients.ssm.send(
      new DescribeInstanceInformationCommand({
        Filters: [{ Key: `tag:${CLUSTER_TAG}`, Values: [cluster] }],
        MaxResults: 50,
        ...(next ? { NextToken: next } : {}),
      }),
    );
    for (const info of page.InstanceInformationList ?? []) {
      if (info.InstanceId !== undefined) ping.set(info.InstanceId, info.PingStatus ?? 'Unknown');
    }
    next = page.NextToken;
  } while (next !== undefined);

  const offline = [...tagged.keys()]
    .filter((id) => ping.get(id) !== 'Online' && needsOnline({ id, roles: tagged.get(id) ?? [] }))
    .map((id) => `${id} (${ping.has(id) ? `SSM ping status ${ping.get(id)}` : 'not managed by SSM'})`);
  if (offline.length > 0) {
    throw new PlanError(
      `${offline.length === 1 ? 'a node is' : `${offline.length} nodes are`} not online in SSM: ${offline.join(', ')}; bring ` +
        `${offline.length === 1 ? 'it' : 'them'} online or list the nodes in "nodes"`,
    );
  }
  return [...tagged].map(([id, roles]) => ({ id, roles }));
}
