import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { jsonBytes } from '../../local/service-limits.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient } from '../../adapters/aws-clients.js';
import { estimateStates } from '../../core/capacity.js';
import { parseInput, type NodeSpec } from '../../core/input-schema.js';
import { planUpgrade } from '../../core/plan.js';
import { runContext } from '../../core/run-context.js';
import { handler as lock } from '../../lambdas/lock/index.js';
import { handler as plan } from '../../lambdas/plan/index.js';
import { localTable } from '../support/dynamodb.js';
import { resetClients } from '../../adapters/aws-clients.js';
import { clusterInstances, startLocalTagging } from '../../local/tagging-endpoint.js';

/**
 * The plan Lambda against the local DynamoDB: what core/capacity.ts estimates is the JSON the run really holds,
 * and a cluster whose state would not fit is refused before anything is recorded.
 */
let dynamodb: LocalDynamoDb;
const store = () => new FleetStore(documentClient(), 'fleet-upgrade-test');
const ec2Id = (i: number) => `i-${(0x0abc0000000000 + i).toString(16).padStart(17, '0')}`;
const nodesOf = (count: number, idOf = ec2Id): NodeSpec[] =>
  Array.from({ length: count }, (_, i) => ({ id: idOf(i), roles: [i === 0 ? 'primary' : i % 10 === 0 ? 'router' : 'dea'] }));

beforeAll(async () => {
  dynamodb = await localTable();
});

afterAll(async () => {
  await dynamodb?.stop();
});

describe("the plan Lambda and the size of the run's state", () => {
  it('holds before the window and in it exactly the bytes the estimate counts', async () => {
    const nodes = nodesOf(300);
    const raw = { cluster: 'measured', targetVersion: '3.2.0', nodes };
    const { nodes: _listed, ...input } = parseInput(raw);
    const run = runContext(input, 'measured-run', '2026-11-24T10:30:00.000Z');
    // The listed nodes carry the cluster's tag, as the plan checks.
    const tagging = await startLocalTagging(clusterInstances('measured', nodes));
    process.env.AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API = tagging.endpoint;
    resetClients();
    onTestFinished(() => tagging.close());
    const lockOut = await lock({ action: 'acquire', cluster: 'measured', runId: run.runId });
    const checkPhase = await plan({ input, executionInput: raw, run });
    const at = new Date().toISOString();
    for (const node of nodes) {
      await store().putCheckpoint(run.runId, {
        nodeId: node.id,
        step: 'version-check',
        status: 'SUCCEEDED',
        exitCode: 0,
        warnings: [],
        details: { version: '3.1.0' },
        startedAt: at,
        finishedAt: at,
      });
    }
    const windowPhase = await plan({ input, run, phase: 'decide' });
    const estimate = estimateStates(input, run, planUpgrade(input, nodes, new Map()), { listed: true });
    const [check, window, planTask] = estimate.states;
    expect(check?.bytes).toBe(jsonBytes({ input, run, lock: lockOut, plan: checkPhase }));
    expect(window?.bytes).toBe(jsonBytes({ input, run, lock: lockOut, plan: windowPhase }));
    // The execution input is estimated with the schema's defaults filled in: a little larger than given.
    const given = jsonBytes({ input, executionInput: raw, run });
    expect(planTask?.bytes).toBeGreaterThanOrEqual(given);
    expect(planTask?.bytes).toBeLessThan(given + 300);
    await lock({ action: 'release', cluster: 'measured', runId: run.runId });
  });

  it('refuses 6,000 instances found by tag before anything is recorded, naming the tag and how many fit', async () => {
    const nodes = nodesOf(6000);
    const tagging = mockClient(ResourceGroupsTaggingAPIClient);
    const ssm = mockClient(SSMClient);
    try {
      tagging.on(GetResourcesCommand).resolves({
        ResourceTagMappingList: nodes.map((n) => ({
          ResourceARN: `arn:aws:ec2:eu-west-1:123456789012:instance/${n.id}`,
          Tags: [
            { Key: 'fleet-upgrade:cluster', Value: 'by-tag' },
            { Key: 'fleet-upgrade:roles', Value: n.roles.join(',') },
          ],
        })),
        PaginationToken: '',
      });
      ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: nodes.map((n) => ({ InstanceId: n.id, PingStatus: 'Online' })) });
      const input = parseInput({ cluster: 'by-tag', targetVersion: '3.2.0' });
      const run = runContext(input, 'by-tag-run', '2026-11-24T10:30:00.000Z');
      const refused = plan({ input, executionInput: { cluster: 'by-tag', targetVersion: '3.2.0' }, run });
      await expect(refused).rejects.toMatchObject({ name: 'InputValidationError', field: 'cluster' });
      const message = ((await refused.catch((e: Error) => e)) as Error).message;
      expect(message).toMatch(/^cluster: the 6,000 nodes tagged fleet-upgrade:cluster=by-tag would make the run's state [0-9,]+ bytes in the window/);
      expect(message).toMatch(/at most 5,[0-9]{3} nodes with ids of 19 characters fit one run \(5,[0-9]{3} when found by tag\)\. Nothing was changed/);
      await expect(store().getRun('by-tag', run.runId)).resolves.toBeNull();
    } finally {
      tagging.restore();
      ssm.restore();
    }
  });

  it('refuses a dry run of a cluster too large for one run the same way', async () => {
    const nodes = nodesOf(2600, (i) => `node-${String(i).padStart(58, '0')}`);
    const raw = { cluster: 'dry-large', targetVersion: '3.2.0', nodes, dryRun: true };
    const { nodes: _listed, ...input } = parseInput(raw);
    const run = runContext(input, 'dry-large-run', '2026-11-24T10:30:00.000Z');
    await expect(plan({ input, executionInput: raw, run, dryRun: true })).rejects.toMatchObject({
      name: 'InputValidationError',
      field: 'nodes',
      message: expect.stringMatching(/^nodes: 2,600 nodes would make .* at most 2,[0-9]{3} nodes with ids of 63 characters fit one run/),
    });
    await expect(store().getRun('dry-large', run.runId)).resolves.toBeNull();
  });
});
