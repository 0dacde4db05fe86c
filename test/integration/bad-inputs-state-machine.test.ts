import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localStackParts, synthesizeTemplate, type LocalStackParts } from '../../local/template.js';
import { startExecution, taskOverrides, type LocalHandler } from '../../local/state-machine-runner.js';
import { LocalTaskTokens } from '../../local/task-tokens.js';
import { LOCAL_HANDLERS } from '../../local/handlers.js';
import { logger } from '../../adapters/logger.js';
import { BAD_INPUTS } from '../support/bad-inputs.js';
import { PAYLOAD_LIMIT_BYTES, jsonBytes } from '../../local/service-limits.js';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient } from '../../adapters/aws-clients.js';
import { localTable } from '../support/dynamodb.js';
import { resetClients } from '../../adapters/aws-clients.js';
import { startLocalTagging } from '../../local/tagging-endpoint.js';
import type { JsonProtocolServer } from '../../local/json-protocol.js';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';

/**
 * The whole bad-input corpus through the synthesized state machine: each execution fails in its first
 * state with InputValidationError naming the field, and no other task runs — no lock, no table item,
 * no node is touched.
 */
let parts: LocalStackParts;

beforeAll(async () => {
  mkdirSync('.tmp', { recursive: true });
  parts = localStackParts(await synthesizeTemplate({}, '.tmp'), () => ({}));
  logger.setLogLevel('SILENT');
});

describe('bad input through the state machine', () => {
  // An execution input is a JSON object (StartExecution refuses anything else, and anything over 256 KiB:
  // such an input never reaches "Validate input" in AWS, so the local runner fails it before any task).
  const objects = BAD_INPUTS.filter(([, c]) => c.value !== null && typeof c.value === 'object' && !Array.isArray(c.value) && c.$generate?.depth === undefined);
  const withinLimit = objects.filter(([, c]) => jsonBytes(c.value) <= PAYLOAD_LIMIT_BYTES);
  const overLimit = objects.filter(([, c]) => jsonBytes(c.value) > PAYLOAD_LIMIT_BYTES);

  it('runs most of the corpus', () => {
    expect(objects.length).toBeGreaterThanOrEqual(55);
    expect(overLimit.map(([name]) => name)).toEqual(['input-over-256-kib']);
  });

  it.each(overLimit)('%s fails States.DataLimitExceeded before any task runs', async (name, c) => {
    let ran = 0;
    const handlers = new Map<string, LocalHandler>(
      Object.keys(parts.handlers).map((id) => [
        id,
        async () => {
          ran += 1;
          return {};
        },
      ]),
    );
    const tokens = new LocalTaskTokens();
    const execution = startExecution({
      definition: parts.definition,
      overrides: taskOverrides(parts.definition, handlers, tokens),
      input: c.value,
      executionName: `bad-${name}`.slice(0, 80),
      tokens,
    });
    await expect(execution.result).resolves.toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(ran).toBe(0);
  });

  it.each(withinLimit)('%s fails "Validate input" and touches nothing', async (name, c) => {
    const touched: string[] = [];
    const handlers = new Map<string, LocalHandler>();
    for (const [logicalId, handler] of Object.entries(parts.handlers)) {
      handlers.set(
        logicalId,
        handler === 'validate-input'
          ? (LOCAL_HANDLERS['validate-input'] as LocalHandler)
          : async () => {
              touched.push(handler);
              throw new Error(`${handler} must not run for bad input`);
            },
      );
    }
    const tokens = new LocalTaskTokens();
    const execution = startExecution({
      definition: parts.definition,
      overrides: taskOverrides(parts.definition, handlers, tokens),
      input: c.value,
      executionName: `bad-${name}`.slice(0, 80),
      tokens,
    });
    const outcome = await execution.result;
    expect(outcome.status).toBe('FAILED');
    if (outcome.status !== 'FAILED') return;
    expect(outcome.error).toBe('InputValidationError');
    expect(outcome.cause).toContain(`${c.field}: `);
    expect(touched).toEqual([]);
  });
});

describe('a cluster too large for one run through the state machine', () => {
  let dynamodb: LocalDynamoDb;
  beforeAll(async () => {
    dynamodb = await localTable();
  });
  afterAll(async () => {
    await dynamodb?.stop();
  });

  // Ids of 63 characters (the longest allowed): 2,600 nodes fit the 256 KiB execution input, but not the
  // window's state with room for the run's other fields.
  const nodes = Array.from({ length: 2600 }, (_, i) => ({ id: `node-${String(i).padStart(58, '0')}`, roles: [i === 0 ? 'primary' : 'dea'] }));
  const input = { cluster: 'too-large', targetVersion: '3.2.0', nodes };

  it('is refused by "Plan upgrade" as bad input: nothing recorded, no node touched, the lock released', async () => {
    expect(jsonBytes(input)).toBeLessThan(PAYLOAD_LIMIT_BYTES);
    const touched: string[] = [];
    const real = new Set(['validate-input', 'lock', 'plan', 'summarize']);
    const handlers = new Map<string, LocalHandler>();
    for (const [logicalId, handler] of Object.entries(parts.handlers)) {
      handlers.set(
        logicalId,
        real.has(handler)
          ? (LOCAL_HANDLERS[handler] as LocalHandler)
          : async () => {
              touched.push(handler);
              throw new Error(`${handler} must not run for a cluster too large for one run`);
            },
      );
    }
    const tokens = new LocalTaskTokens();
    const execution = startExecution({
      definition: parts.definition,
      overrides: taskOverrides(parts.definition, handlers, tokens),
      input,
      executionName: 'too-large-run',
      tokens,
    });
    const outcome = await execution.result;
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'InputValidationError' });
    if (outcome.status !== 'FAILED') return;
    expect(outcome.cause).toMatch(/^nodes: 2,600 nodes would make the run's state [0-9,]+ bytes in the window/);
    expect(outcome.cause).toContain('262,144-byte (256 KiB)');
    expect(outcome.cause).toMatch(/at most [0-9,]+ nodes with ids of 63 characters fit one run/);
    expect(touched).toEqual([]);
    const store = new FleetStore(documentClient(), 'fleet-upgrade-test');
    await expect(store.getLock('too-large')).resolves.toBeNull();
    await expect(store.getRun('too-large', 'too-large-run')).resolves.toBeNull();
  });
});

/**
 * A run touches only its cluster: listed nodes must carry `fleet-upgrade:cluster=<cluster>`. The plan reads the
 * cluster's members with GetResources filtered by that tag, which returns every tagged resource matching the
 * filters with all its tags (https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html).
 */
describe('listed nodes of another cluster through the state machine', () => {
  let dynamodb: LocalDynamoDb;
  let tagging: JsonProtocolServer;
  beforeAll(async () => {
    dynamodb = await localTable();
    tagging = await startLocalTagging([
      { id: 'core-1', tags: { 'fleet-upgrade:cluster': 'blue', 'fleet-upgrade:roles': 'primary' } },
      { id: 'dea-1', tags: { 'fleet-upgrade:cluster': 'blue', 'fleet-upgrade:roles': 'dea' } },
      { id: 'dea-9', tags: { 'fleet-upgrade:cluster': 'green', 'fleet-upgrade:roles': 'dea' } },
      { id: 'stray-1', tags: { team: 'blue' } },
    ]);
    process.env.AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API = tagging.endpoint;
    resetClients();
  });
  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API;
    await tagging?.close();
    await dynamodb?.stop();
  });

  const run = (input: unknown, executionName: string, touched: string[]) => {
    const real = new Set(['validate-input', 'lock', 'plan', 'summarize']);
    const handlers = new Map<string, LocalHandler>();
    for (const [logicalId, handler] of Object.entries(parts.handlers)) {
      handlers.set(
        logicalId,
        real.has(handler)
          ? (LOCAL_HANDLERS[handler] as LocalHandler)
          : async () => {
              touched.push(handler);
              throw new Error(`${handler} must not run for nodes of another cluster`);
            },
      );
    }
    const tokens = new LocalTaskTokens();
    return startExecution({ definition: parts.definition, overrides: taskOverrides(parts.definition, handlers, tokens), input, executionName, tokens }).result;
  };
  const nodes = [
    { id: 'core-1', roles: ['primary'] },
    { id: 'dea-1', roles: ['dea'] },
  ];

  it('refuses a node of another cluster and an untagged node in "Plan upgrade", naming each: nothing recorded, no node touched, the lock released', async () => {
    const touched: string[] = [];
    const input = { cluster: 'blue', targetVersion: '3.2.0', nodes: [...nodes, { id: 'dea-9', roles: ['dea'] }, { id: 'stray-1', roles: ['dea'] }] };
    const outcome = await run(input, 'blue-with-foreign-nodes', touched);
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'InputValidationError' });
    if (outcome.status !== 'FAILED') return;
    expect(outcome.cause).toMatch(/^nodes: 2 listed nodes do not carry the tag fleet-upgrade:cluster=blue: dea-9, stray-1\./);
    expect(touched).toEqual([]);
    const store = new FleetStore(documentClient(), 'fleet-upgrade-test');
    await expect(store.getLock('blue')).resolves.toBeNull();
    await expect(store.getRun('blue', 'blue-with-foreign-nodes')).resolves.toBeNull();
  });

  // Discovered nodes are known only to the plan: a role no node has and an id the cluster lacks are refused there.
  it.each([
    [
      'a role no node has (a typo)',
      { roleOrder: ['dea', 'contrller', 'primary'] },
      /^roleOrder\[1\]: expected a role that a node of the cluster has: the cluster's roles are dea, primary .*got "contrller"/,
    ],
    ['a node of another cluster in only', { only: ['dea-1', 'dea-9'] }, /^only\[1\]: expected the id of one of the cluster's nodes, got "dea-9"/],
  ])('refuses %s in "Plan upgrade" for discovered nodes: nothing recorded, no node touched, the lock released', async (_what, more, cause) => {
    const touched: string[] = [];
    const runId = `blue-discovered-${Object.keys(more)[0] ?? ''}`;
    // Discovery asks SSM which tagged nodes are online: both are.
    const ssm = mockClient(SSMClient);
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: nodes.map((n) => ({ InstanceId: n.id, PingStatus: 'Online' })) });
    const outcome = await run({ cluster: 'blue', targetVersion: '3.2.0', ...more }, runId, touched).finally(() => ssm.restore());
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'InputValidationError' });
    if (outcome.status !== 'FAILED') return;
    expect(outcome.cause).toMatch(cause);
    expect(touched).toEqual([]);
    const store = new FleetStore(documentClient(), 'fleet-upgrade-test');
    await expect(store.getLock('blue')).resolves.toBeNull();
    await expect(store.getRun('blue', runId)).resolves.toBeNull();
  });

  it("plans a list of the cluster's own nodes (dry run)", async () => {
    const touched: string[] = [];
    const outcome = await run({ cluster: 'blue', targetVersion: '3.2.0', nodes, dryRun: true }, 'blue-own-nodes', touched);
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    expect(touched).toEqual([]);
  });
});
