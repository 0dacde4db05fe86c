import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { serveLocalDynamoDb, type CompatOptions, type LocalDynamoDbServer } from '../../local/dynamodb/compat-server.js';
import { jsonAnswer } from '../../local/dynamodb/answers.js';
import type { Answer, Engine } from '../../local/dynamodb/engine.js';
import { ItemLocks } from '../../local/dynamodb/item-locks.js';
import { OldItemOnFailure } from '../../local/dynamodb/old-item-on-failure.js';
import { STORE_TABLE_KEYS } from '../../local/dynamodb/table.js';

/*
 * The compatibility layer in front of dynalite (local/dynamodb/): each gap it fills is shown here twice, with the
 * layer (DynamoDB's behaviour) and without it (dynalite's, so that a dynalite that closes the gap shows up and
 * the shim can go). The store contract test (store-contract.test.ts) checks the same behaviours end to end.
 */

const S = (s: string): AttributeValue => ({ S: s });
const servers: LocalDynamoDbServer[] = [];
const clients: DynamoDBClient[] = [];

async function engine(opts: CompatOptions & { dir?: string } = {}): Promise<DynamoDBClient> {
  const server = await serveLocalDynamoDb(opts);
  servers.push(server);
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${server.port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
}

async function withTable(client: DynamoDBClient, TableName = 'compat-table'): Promise<DynamoDBClient> {
  await client.send(
    new CreateTableCommand({
      TableName,
      ...STORE_TABLE_KEYS,
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return client;
}

async function failure(request: Promise<unknown>): Promise<Error & { Item?: Record<string, AttributeValue> }> {
  try {
    await request;
  } catch (error) {
    return error as Error;
  }
  throw new Error('the request succeeded');
}

afterAll(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(servers.map((s) => s.close()));
});

describe('ReturnValuesOnConditionCheckFailure (local/dynamodb/old-item-on-failure.ts)', () => {
  const lock = { pk: S('CLUSTER#c'), sk: S('LOCK'), runId: S('run-1') };
  const attempts = (client: DynamoDBClient) => ({
    put: () =>
      client.send(
        new PutItemCommand({
          TableName: 'compat-table',
          Item: { ...lock, runId: S('run-2') },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    update: () =>
      client.send(
        new UpdateItemCommand({
          TableName: 'compat-table',
          Key: { pk: lock.pk, sk: lock.sk },
          UpdateExpression: 'SET runId = :r',
          ConditionExpression: 'runId = :r',
          ExpressionAttributeValues: { ':r': S('run-2') },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    delete: () =>
      client.send(
        new DeleteItemCommand({
          TableName: 'compat-table',
          Key: { pk: lock.pk, sk: lock.sk },
          ConditionExpression: 'runId = :r',
          ExpressionAttributeValues: { ':r': S('run-2') },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
  });

  it('a failed Put, Update or Delete asked for ALL_OLD carries the item it failed on', async () => {
    const client = await withTable(await engine());
    await client.send(new PutItemCommand({ TableName: 'compat-table', Item: lock }));
    for (const attempt of Object.values(attempts(client))) {
      const error = await failure(attempt());
      expect(error).toBeInstanceOf(ConditionalCheckFailedException);
      expect(error.Item).toEqual(lock);
    }
  });

  it('without the layer, dynalite fails the same writes with no item', async () => {
    const client = await withTable(await engine({ oldItemOnFailure: false }));
    await client.send(new PutItemCommand({ TableName: 'compat-table', Item: lock }));
    for (const attempt of Object.values(attempts(client))) {
      const error = await failure(attempt());
      expect(error).toBeInstanceOf(ConditionalCheckFailedException);
      expect(error.Item).toBeUndefined();
    }
  });

  it('refuses a value other than NONE and ALL_OLD, as DynamoDB does (dynalite accepts any)', async () => {
    const request = (client: DynamoDBClient) =>
      client.send(
        new PutItemCommand({ TableName: 'compat-table', Item: { pk: S('x'), sk: S('y') }, ReturnValuesOnConditionCheckFailure: 'ALL_NEW' as 'ALL_OLD' }),
      );
    const error = await failure(request(await withTable(await engine())));
    expect(error.name).toBe('ValidationException');
    await expect(request(await withTable(await engine({ oldItemOnFailure: false })))).resolves.toBeDefined();
  });

  it('no other write to the item passes between the failed write and the read of the old item', async () => {
    // An engine that takes its time over the failing Put: a Delete of the same item sent meanwhile must wait
    // until the old item is read, or the failure would report an item that was never what the condition saw.
    const log: string[] = [];
    const slow: Engine = {
      async send(operation): Promise<Answer> {
        if (operation === 'DescribeTable') return jsonAnswer(200, { Table: { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] } });
        log.push(`${operation} begins`);
        if (operation === 'PutItem') await new Promise((resolve) => setTimeout(resolve, 50));
        log.push(`${operation} ends`);
        if (operation === 'PutItem')
          return jsonAnswer(400, { __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', message: 'The conditional request failed' });
        if (operation === 'GetItem') return jsonAnswer(200, { Item: { pk: S('a'), v: S('old') } });
        return jsonAnswer(200, {});
      },
      close: async () => undefined,
    };
    const shim = new OldItemOnFailure(slow, new ItemLocks(slow));
    const put = shim.write('PutItem', { TableName: 't', Item: { pk: S('a') }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }, () =>
      slow.send('PutItem', '{}'),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    const del = shim.write('DeleteItem', { TableName: 't', Key: { pk: S('a') } }, () => slow.send('DeleteItem', '{}'));
    const [failed] = await Promise.all([put, del]);
    expect(JSON.parse(failed.body)).toMatchObject({ Item: { v: S('old') } });
    expect(log).toEqual(['PutItem begins', 'PutItem ends', 'GetItem begins', 'GetItem ends', 'DeleteItem begins', 'DeleteItem ends']);
  });
});

describe('UpdateTimeToLive and DescribeTimeToLive (local/dynamodb/time-to-live.ts)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'compat-ttl-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const enable = (client: DynamoDBClient, TableName = 'compat-table') =>
    client.send(new UpdateTimeToLiveCommand({ TableName, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }));
  const describeTtl = (client: DynamoDBClient) => client.send(new DescribeTimeToLiveCommand({ TableName: 'compat-table' }));

  it('enables TTL on an attribute, says so, refuses to enable it twice, and keeps it in the data directory', async () => {
    const client = await withTable(await engine({ dir }));
    await expect(enable(client)).resolves.toMatchObject({ TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } });
    expect((await describeTtl(client)).TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
    expect((await failure(enable(client))).message).toBe('TimeToLive is already enabled');
    await servers.pop()?.close(); // one server at a time on a directory (LevelDB locks it)
    const restarted = await engine({ dir });
    expect((await describeTtl(restarted)).TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
  });

  it('answers ResourceNotFoundException for a table that does not exist', async () => {
    expect((await failure(enable(await engine(), 'no-such-table'))).name).toBe('ResourceNotFoundException');
  });

  it('without the layer, dynalite does not know UpdateTimeToLive', async () => {
    const client = await withTable(await engine({ timeToLive: false }));
    expect((await failure(enable(client))).name).toBe('UnknownOperationException');
    expect((await describeTtl(client)).TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'DISABLED' });
  });
});
