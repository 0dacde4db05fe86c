import { beforeEach, describe, expect, it, afterAll } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { DescribeInstanceInformationCommand, SSMClient, type InstanceInformation, type PingStatus } from '@aws-sdk/client-ssm';
import { discoverNodes } from '../../adapters/discovery.js';
import { PlanError } from '../../core/errors.js';
import { mayBeSentCommands } from '../../core/node-selection.js';

const tagging = mockClient(ResourceGroupsTaggingAPIClient);
const ssm = mockClient(SSMClient);
// Mocks patch the client classes for the whole process: undone for the files that run after this one.
afterAll(() => {
  tagging.restore();
  ssm.restore();
});
const clients = { tagging: new ResourceGroupsTaggingAPIClient({ region: 'eu-west-1' }), ssm: new SSMClient({ region: 'eu-west-1' }) };

/** Shaped like real GetResources responses: ARNs, Tags as Key/Value pairs, an empty token on the last page. */
const resource = (arn: string, roles?: string) => ({
  ResourceARN: arn,
  Tags: [
    { Key: 'fleet-upgrade:cluster', Value: 'prod' },
    ...(roles === undefined ? [] : [{ Key: 'fleet-upgrade:roles', Value: roles }]),
    { Key: 'Name', Value: 'x' },
  ],
});
const info = (id: string, ping: PingStatus): InstanceInformation => ({
  InstanceId: id,
  PingStatus: ping,
  LastPingDateTime: new Date('2026-11-24T10:00:00Z'),
  AgentVersion: '3.3.1142.0',
  PlatformType: 'Linux',
  ResourceType: id.startsWith('mi-') ? 'ManagedInstance' : 'EC2Instance',
});

describe('node discovery by tag', () => {
  beforeEach(() => {
    tagging.reset();
    ssm.reset();
  });

  it('finds EC2 and hybrid nodes across pages with their roles', async () => {
    tagging
      .on(GetResourcesCommand)
      .resolvesOnce({
        PaginationToken: 'page-2',
        ResourceTagMappingList: [resource('arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc1234', 'dea')],
      })
      .resolvesOnce({
        PaginationToken: '',
        ResourceTagMappingList: [
          resource('arn:aws:ec2:eu-west-1:123456789012:instance/i-0def5678', 'primary, controller,router'),
          resource('arn:aws:ssm:eu-west-1:123456789012:managed-instance/mi-0123456789abcdef0'),
        ],
      });
    ssm
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce({ NextToken: 'n2', InstanceInformationList: [info('i-0abc1234', 'Online')] })
      .resolvesOnce({ InstanceInformationList: [info('i-0def5678', 'Online'), info('mi-0123456789abcdef0', 'Online')] });

    const nodes = await discoverNodes('prod', clients);
    expect(nodes).toEqual([
      { id: 'i-0abc1234', roles: ['dea'] },
      { id: 'i-0def5678', roles: ['primary', 'controller', 'router'] },
      { id: 'mi-0123456789abcdef0', roles: [] },
    ]);
    expect(tagging.commandCalls(GetResourcesCommand)[0]?.args[0].input).toMatchObject({
      TagFilters: [{ Key: 'fleet-upgrade:cluster', Values: ['prod'] }],
      ResourceTypeFilters: ['ec2:instance', 'ssm:managed-instance'],
    });
    expect(tagging.commandCalls(GetResourcesCommand)[1]?.args[0].input).toMatchObject({ PaginationToken: 'page-2' });
    expect(ssm.commandCalls(DescribeInstanceInformationCommand)[0]?.args[0].input).toMatchObject({
      Filters: [{ Key: 'tag:fleet-upgrade:cluster', Values: ['prod'] }],
    });
  });

  it('fails planning naming every node that is not online, before anything is touched', async () => {
    tagging.on(GetResourcesCommand).resolves({
      PaginationToken: '',
      ResourceTagMappingList: [
        resource('arn:aws:ec2:eu-west-1:123456789012:instance/i-0aaa', 'dea'),
        resource('arn:aws:ec2:eu-west-1:123456789012:instance/i-0bbb', 'dea'),
        resource('arn:aws:ec2:eu-west-1:123456789012:instance/i-0ccc', 'primary'),
      ],
    });
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [info('i-0aaa', 'Online'), info('i-0bbb', 'ConnectionLost')] });
    const error = await discoverNodes('prod', clients).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlanError);
    expect((error as Error).message).toBe(
      '2 nodes are not online in SSM: i-0bbb (SSM ping status ConnectionLost), i-0ccc (not managed by SSM); bring them online or list the nodes in "nodes"',
    );
  });

  it('with only, lets a node out of the run be offline, but not a selected node or the core node', async () => {
    tagging.on(GetResourcesCommand).resolves({
      PaginationToken: '',
      ResourceTagMappingList: [
        resource('arn:aws:ec2:eu-west-1:123456789012:instance/i-0aaa', 'dea'),
        resource('arn:aws:ec2:eu-west-1:123456789012:instance/i-0bbb', 'dea'),
        resource('arn:aws:ec2:eu-west-1:123456789012:instance/i-0ccc', 'primary'),
      ],
    });
    ssm
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [info('i-0aaa', 'Online'), info('i-0bbb', 'ConnectionLost'), info('i-0ccc', 'Online')] });
    await expect(discoverNodes('prod', clients, mayBeSentCommands({ only: ['i-0aaa'] }))).resolves.toHaveLength(3);
    await expect(discoverNodes('prod', clients, mayBeSentCommands({ only: ['i-0bbb'] }))).rejects.toThrow(
      'a node is not online in SSM: i-0bbb (SSM ping status ConnectionLost)',
    );
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [info('i-0aaa', 'Online'), info('i-0bbb', 'Online')] });
    await expect(discoverNodes('prod', clients, mayBeSentCommands({ only: ['i-0aaa'] }))).rejects.toThrow(
      'a node is not online in SSM: i-0ccc (not managed by SSM)',
    );
  });

  it('refuses a roles tag holding something that is not a role name', async () => {
    tagging.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: [resource('arn:aws:ec2:eu-west-1:123456789012:instance/i-0aaa', 'dea;rm -rf /')],
    });
    await expect(discoverNodes('prod', clients)).rejects.toThrow(/i-0aaa: tag fleet-upgrade:roles holds "dea;rm"/);
  });

  it('says so when no instance carries the cluster tag', async () => {
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
    await expect(discoverNodes('prod', clients)).rejects.toThrow('no instance is tagged fleet-upgrade:cluster=prod');
  });
});
