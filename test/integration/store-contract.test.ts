import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { FleetStore, type PendingCommand } from '../../adapters/store.js';
import { ClusterLockedError } from '../../core/errors.js';
import type { RunInfo } from '../../core/summary.js';
import { engineUnderTest, startEngine } from '../support/dynamodb-engine.js';
import { STORE_TABLE_KEYS } from '../../local/dynamodb/table.js';

/*
 * What our store relies on DynamoDB to do, written from DynamoDB's documentation (the page is cited above each
 * behaviour) and run against the local engine through the real SDK v3 client, so that an engine that differs
 * from DynamoDB fails here rather than in a rehearsal. FLEET_UPGRADE_DYNAMODB_ENGINE picks the engine
 * (test/support/dynamodb-engine.ts); the requests have the shapes adapters/store.ts sends.
 */

const engine = engineUnderTest();
// A table of its own: an engine given by its endpoint may be shared.
const TABLE = `store-contract-${process.pid}`;
let dynamodb: LocalDynamoDb;
let db: DynamoDBClient;

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });

/** The error a request fails with (the test fails if it succeeds). */
async function failure(
  request: Promise<unknown>,
): Promise<Error & { Item?: Record<string, AttributeValue>; $metadata?: { httpStatusCode?: number }; CancellationReasons?: unknown }> {
  try {
    await request;
  } catch (error) {
    return error as Error;
  }
  throw new Error('the request succeeded');
}

async function getItem(pk: string, sk: string): Promise<Record<string, AttributeValue> | undefined> {
  return (await db.send(new GetItemCommand({ TableName: TABLE, Key: { pk: S(pk), sk: S(sk) }, ConsistentRead: true }))).Item;
}

beforeAll(async () => {
  dynamodb = await startEngine(engine);
  db = new DynamoDBClient({
    endpoint: dynamodb.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  await db.send(
    new CreateTableCommand({
      TableName: TABLE,
      ...STORE_TABLE_KEYS,
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

afterAll(async () => {
  db?.destroy();
  await dynamodb?.stop();
});

describe(`conditional writes (${engine})`, () => {
  const lockItem = { pk: S('CLUSTER#c1'), sk: S('LOCK'), runId: S('run-1'), expiresAt: S('2030-01-01T00:10:00.000Z') };
  const putLock = (runId: string, extra: Partial<ConstructorParameters<typeof PutItemCommand>[0]> = {}) =>
    db.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { ...lockItem, runId: S(runId) },
        ConditionExpression: 'attribute_not_exists(pk) OR runId = :run',
        ExpressionAttributeValues: { ':run': S(runId) },
        ...extra,
      }),
    );

  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
  // "If the condition expression evaluates to false, DynamoDB returns the following error message: The conditional
  // request failed"; API_PutItem.html, Errors: ConditionalCheckFailedException, HTTP Status Code: 400.
  it('a Put whose condition is false fails with ConditionalCheckFailedException (400, "The conditional request failed") and writes nothing', async () => {
    await putLock('run-1');
    await putLock('run-1'); // the holder again: the condition holds (re-entrant lock)
    const error = await failure(putLock('run-2'));
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect(error.name).toBe('ConditionalCheckFailedException');
    expect(error.message).toBe('The conditional request failed');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.Item).toBeUndefined(); // not asked for
    expect((await getItem('CLUSTER#c1', 'LOCK'))?.runId).toEqual(S('run-1'));
  });

  // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html#DDB-PutItem-request-ReturnValuesOnConditionCheckFailure
  // "Use ReturnValuesOnConditionCheckFailure to get the item attributes if the PutItem condition fails. For
  // ReturnValuesOnConditionCheckFailure, the valid values are: NONE and ALL_OLD." The exception's Item: "Item which
  // caused the ConditionalCheckFailedException" (API_PutItem.html, Errors). The lock names its holder from it.
  it('a failed Put with ReturnValuesOnConditionCheckFailure=ALL_OLD carries the item as it was', async () => {
    const error = await failure(putLock('run-2', { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect(error.Item).toEqual(lockItem);
  });

  it('with ReturnValuesOnConditionCheckFailure=NONE the failure carries no item', async () => {
    const error = await failure(putLock('run-2', { ReturnValuesOnConditionCheckFailure: 'NONE' }));
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect(error.Item).toBeUndefined();
  });

  // Same page: valid values NONE and ALL_OLD; anything else fails validation.
  it('ReturnValuesOnConditionCheckFailure other than NONE or ALL_OLD is a ValidationException', async () => {
    const error = await failure(putLock('run-2', { ReturnValuesOnConditionCheckFailure: 'ALL_NEW' as 'ALL_OLD' }));
    expect(error.name).toBe('ValidationException');
  });

  // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html#DDB-UpdateItem-request-ReturnValuesOnConditionCheckFailure
  // (the lock's renewal reads the holder from the failed Update).
  it('a failed Update with ALL_OLD carries the item as it was, and changes nothing', async () => {
    const error = await failure(
      db.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { pk: lockItem.pk, sk: lockItem.sk },
          UpdateExpression: 'SET expiresAt = :until, renewedAt = :now',
          ConditionExpression: 'runId = :run AND (attribute_not_exists(expiresAt) OR expiresAt < :until)',
          ExpressionAttributeValues: { ':until': S('2030-01-01T00:05:00.000Z'), ':now': S('2030-01-01T00:00:00.000Z'), ':run': S('run-1') },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect(error.Item).toEqual(lockItem);
    expect(await getItem('CLUSTER#c1', 'LOCK')).toEqual(lockItem);
  });

  // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteItem.html#DDB-DeleteItem-request-ReturnValuesOnConditionCheckFailure
  it('a failed Delete with ALL_OLD carries the item as it was, and deletes nothing', async () => {
    const error = await failure(
      db.send(
        new DeleteItemCommand({
          TableName: TABLE,
          Key: { pk: lockItem.pk, sk: lockItem.sk },
          ConditionExpression: 'runId = :run',
          ExpressionAttributeValues: { ':run': S('run-2') },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    expect(error.Item).toEqual(lockItem);
    expect(await getItem('CLUSTER#c1', 'LOCK')).toEqual(lockItem);
  });

  // ALL_OLD returns the item's attributes "if the condition fails": an item that does not exist has none. The
  // command claim tells "not recorded yet" from "claimed by another" this way.
  it('a failed Update with ALL_OLD on an item that does not exist carries no item', async () => {
    const error = await failure(
      db.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { pk: S('COMMAND#missing'), sk: S('COMMAND') },
          UpdateExpression: 'SET #state = :answering',
          ConditionExpression: '#state = :pending',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':answering': S('ANSWERING'), ':pending': S('PENDING') },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect(error.Item).toBeUndefined();
    expect(await getItem('COMMAND#missing', 'COMMAND')).toBeUndefined();
  });

  // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html#DDB-UpdateItem-request-ReturnValues
  // "ALL_NEW - Returns all of the attributes of the item, as they appear after the UpdateItem operation."
  it('a conditional Update that succeeds with ReturnValues=ALL_NEW returns the whole item as written', async () => {
    await db.send(new PutItemCommand({ TableName: TABLE, Item: { pk: S('COMMAND#c1'), sk: S('COMMAND'), state: S('PENDING'), taskToken: S('t1') } }));
    const out = await db.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: S('COMMAND#c1'), sk: S('COMMAND') },
        UpdateExpression: 'SET #state = :answering, claimedAt = :at',
        ConditionExpression: '#state = :pending',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':answering': S('ANSWERING'), ':pending': S('PENDING'), ':at': S('now') },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    expect(out.Attributes).toEqual({ pk: S('COMMAND#c1'), sk: S('COMMAND'), state: S('ANSWERING'), taskToken: S('t1'), claimedAt: S('now') });
  });

  // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteItem.html#DDB-DeleteItem-request-ReturnValues
  // "ALL_OLD - The content of the old item is returned." Nothing is returned when there was no item (closeHold).
  it('a Delete with ReturnValues=ALL_OLD returns the deleted item, and no attributes when there was none', async () => {
    await db.send(new PutItemCommand({ TableName: TABLE, Item: { pk: S('RUN#r1'), sk: S('HOLD#n1'), step: S('upgrade') } }));
    const first = await db.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: S('RUN#r1'), sk: S('HOLD#n1') }, ReturnValues: 'ALL_OLD' }));
    expect(first.Attributes).toEqual({ pk: S('RUN#r1'), sk: S('HOLD#n1'), step: S('upgrade') });
    const second = await db.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: S('RUN#r1'), sk: S('HOLD#n1') }, ReturnValues: 'ALL_OLD' }));
    expect(second.Attributes).toBeUndefined();
  });
});

describe(`update expressions (${engine})`, () => {
  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html
  // SET with if_not_exists ("if the item does not include an attribute at the specified path"), SET a = a + :n,
  // ADD to a set ("the elements are appended to the set"), REMOVE.
  it('if_not_exists keeps a value already there, a + :n adds, ADD unions a string set, REMOVE drops attributes', async () => {
    const Key = { pk: S('RUN#r1'), sk: S('HELD#n2') };
    const hold = (token: string, at: string, waitingFor: string) =>
      db.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key,
          UpdateExpression: 'SET taskToken = :token, since = if_not_exists(since, :at), heldMs = if_not_exists(heldMs, :zero) ADD waitedFor :for',
          ExpressionAttributeValues: { ':token': S(token), ':at': S(at), ':zero': N(0), ':for': { SS: [waitingFor] } },
        }),
      );
    await hold('t1', '2030-01-01T00:00:00Z', 'n1');
    await hold('t2', '2030-01-01T00:01:00Z', 'n3');
    const out = await db.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key,
        UpdateExpression: 'SET heldMs = heldMs + :waited, releasedAt = :at REMOVE taskToken, since',
        ConditionExpression: 'taskToken = :token',
        ExpressionAttributeValues: { ':waited': N(1500), ':at': S('later'), ':token': S('t2') },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const { waitedFor, ...rest } = out.Attributes ?? {};
    expect(rest).toEqual({ ...Key, heldMs: N(1500), releasedAt: S('later') });
    expect([...(waitedFor?.SS ?? [])].sort()).toEqual(['n1', 'n3']);
  });
});

describe(`reads (${engine})`, () => {
  beforeAll(async () => {
    // 40 checkpoints of one run (as a few nodes' steps), in shuffled order: written 20 per batch.
    const sks = Array.from({ length: 40 }, (_, i) => `NODE#n${String(i % 8)}#STEP#${String(Math.floor(i / 8)).padStart(2, '0')}`).reverse();
    for (let i = 0; i < sks.length; i += 20) {
      await db.send(
        new BatchWriteItemCommand({
          RequestItems: { [TABLE]: sks.slice(i, i + 20).map((sk) => ({ PutRequest: { Item: { pk: S('RUN#reads'), sk: S(sk), status: S('SUCCEEDED') } } })) },
        }),
      );
    }
    await db.send(new PutItemCommand({ TableName: TABLE, Item: { pk: S('RUN#reads'), sk: S('PLAN#n1'), seq: N(0) } }));
  });

  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ProjectionExpressions.html
  // "A projection expression is a string that identifies the attributes that you want"; names that are reserved
  // words (status) go through ExpressionAttributeNames. ConsistentRead: HowItWorks.ReadConsistency.html.
  it('GetItem with a ProjectionExpression returns only the named attributes; ConsistentRead is accepted', async () => {
    await db.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: S('CLUSTER#c1'), sk: S('RUN#r1'), status: S('SUCCEEDED'), finishedAt: S('t'), summary: { M: { nodes: N(3) } } },
      }),
    );
    const out = await db.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: S('CLUSTER#c1'), sk: S('RUN#r1') },
        ProjectionExpression: '#s, finishedAt',
        ExpressionAttributeNames: { '#s': 'status' },
        ConsistentRead: true,
      }),
    );
    expect(out.Item).toEqual({ status: S('SUCCEEDED'), finishedAt: S('t') });
  });

  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.KeyConditionExpressions.html
  // begins_with (a, substr) on the sort key; "Query results are always sorted by the sort key value" (ascending
  // by default, ScanIndexForward). Read consistency: HowItWorks.ReadConsistency.html.
  it('Query with begins_with on the sort key returns exactly the matching items, in sort-key order; ConsistentRead is accepted', async () => {
    const out = await db.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': S('RUN#reads'), ':prefix': S('NODE#n3#STEP#') },
        ConsistentRead: true,
      }),
    );
    expect(out.Items?.map((i) => i.sk?.S)).toEqual(['NODE#n3#STEP#00', 'NODE#n3#STEP#01', 'NODE#n3#STEP#02', 'NODE#n3#STEP#03', 'NODE#n3#STEP#04']);
    expect(out.LastEvaluatedKey).toBeUndefined();
  });

  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html
  // "If LastEvaluatedKey is present in the response, you need to paginate the result set"; "If LastEvaluatedKey is
  // empty, then the last page of results has been processed". Limit: Query.Limit.html.
  it('Query pages: Limit ends a page with LastEvaluatedKey, ExclusiveStartKey continues, the last page has none', async () => {
    const pages: number[] = [];
    const seen: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await db.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': S('RUN#reads'), ':prefix': S('NODE#') },
          Limit: 15,
          ExclusiveStartKey: start,
        }),
      );
      pages.push(out.Count ?? 0);
      seen.push(...(out.Items ?? []).map((i) => String(i.sk?.S)));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    expect(pages).toEqual([15, 15, 10]);
    expect(new Set(seen).size).toBe(40);
  });

  // Query.Pagination.html: "A single Query only returns a result set that fits within the 1 MB size limit."
  it('a Query page stops at 1 MB of items and says where to go on', async () => {
    const big = 'x'.repeat(350 * 1024);
    for (let i = 0; i < 4; i++) await db.send(new PutItemCommand({ TableName: TABLE, Item: { pk: S('RUN#big'), sk: S(`STEP#${i}`), output: S(big) } }));
    const first = await db.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': S('RUN#big') } }));
    expect(first.Count).toBeLessThan(4);
    expect(first.LastEvaluatedKey).toBeDefined();
    const rest = await db.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': S('RUN#big') },
        ExclusiveStartKey: first.LastEvaluatedKey,
      }),
    );
    expect((first.Count ?? 0) + (rest.Count ?? 0)).toBe(4);
  });
});

describe(`item size limit (${engine})`, () => {
  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items
  // "The maximum item size in DynamoDB is 400 KB, which includes both attribute name binary length (UTF-8 length)
  // and attribute value lengths (again binary length)." 400 KB = 409,600 bytes.
  const sized = (bytes: number) => {
    const fixed = 'pk'.length + 'SIZE'.length + 'sk'.length + 'item'.length + 'output'.length;
    return { pk: S('SIZE'), sk: S('item'), output: S('x'.repeat(bytes - fixed)) };
  };

  it('an item of exactly 400 KB (names and values) is written; one byte more is a ValidationException', async () => {
    await db.send(new PutItemCommand({ TableName: TABLE, Item: sized(409_600) }));
    const error = await failure(db.send(new PutItemCommand({ TableName: TABLE, Item: sized(409_601) })));
    expect(error.name).toBe('ValidationException');
    expect(error.message).toMatch(/Item size has exceeded the maximum allowed size/);
  });

  it('an Update that would grow the item past 400 KB is a ValidationException and leaves it as it was', async () => {
    const error = await failure(
      db.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { pk: S('SIZE'), sk: S('item') },
          UpdateExpression: 'SET extra = :e',
          ExpressionAttributeValues: { ':e': S('y') },
        }),
      ),
    );
    expect(error.name).toBe('ValidationException');
    expect((await getItem('SIZE', 'item'))?.extra).toBeUndefined();
  });
});

describe(`batches (${engine})`, () => {
  // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
  // "can transmit up to 16MB of data ... comprised of as many as 25 put or delete requests"; UnprocessedItems: "A map
  // of tables and requests against those tables that were not processed"; "If all requests are processed, this
  // map is empty" — the store retries until it is empty.
  it('BatchWriteItem of 25 puts answers an empty UnprocessedItems; 26 requests are a ValidationException', async () => {
    const puts = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ PutRequest: { Item: { pk: S('RUN#batch'), sk: S(`PLAN#n${String(i).padStart(2, '0')}`), seq: N(i) } } }));
    const out = await db.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts(25) } }));
    expect(out.UnprocessedItems).toEqual({});
    const error = await failure(db.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts(26) } })));
    expect(error.name).toBe('ValidationException');
  });

  // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
  // Responses: "A map of table name or table ARN to a list of items"; a key with no item is simply absent;
  // UnprocessedKeys: "If there are no unprocessed keys remaining, the response contains an empty UnprocessedKeys map."
  it('BatchGetItem answers the items found per table and an empty UnprocessedKeys', async () => {
    const out = await db.send(
      new BatchGetItemCommand({
        RequestItems: {
          [TABLE]: {
            Keys: [
              { pk: S('RUN#batch'), sk: S('PLAN#n03') },
              { pk: S('RUN#batch'), sk: S('PLAN#none') },
            ],
            ConsistentRead: true,
          },
        },
      }),
    );
    expect(out.Responses?.[TABLE]).toEqual([{ pk: S('RUN#batch'), sk: S('PLAN#n03'), seq: N(3) }]);
    expect(out.UnprocessedKeys).toEqual({});
  });
});

describe(`time to live (${engine})`, () => {
  // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html
  // "A successful UpdateTimeToLive call returns the current TimeToLiveSpecification"; "Any additional
  // UpdateTimeToLive calls for the same table during this one hour duration result in a ValidationException."
  // DescribeTimeToLive: TimeToLiveStatus ENABLED and the AttributeName.
  it('UpdateTimeToLive enables TTL on the ttl attribute, DescribeTimeToLive says so, and enabling again is refused', async () => {
    const out = await db.send(new UpdateTimeToLiveCommand({ TableName: TABLE, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }));
    expect(out.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
    const described = await db.send(new DescribeTimeToLiveCommand({ TableName: TABLE }));
    expect(described.TimeToLiveDescription).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
    const again = await failure(db.send(new UpdateTimeToLiveCommand({ TableName: TABLE, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } })));
    expect(again.name).toBe('ValidationException');
  });

  // Same page: "DynamoDB typically deletes expired items within two days of expiration ... Items that have expired
  // and not been deleted will still show up in reads, queries, and scans." The store never relies on TTL to hide
  // a record: a command or approval past its ttl is still read until it is gone.
  it('an item whose ttl has passed can still be read', async () => {
    await db.send(new PutItemCommand({ TableName: TABLE, Item: { pk: S('COMMAND#old'), sk: S('COMMAND'), state: S('ANSWERED'), ttl: N(1) } }));
    expect((await getItem('COMMAND#old', 'COMMAND'))?.state).toEqual(S('ANSWERED'));
  });
});

// The store uses no transaction today (FleetStore.recordCommand says why). DynamoDB Local has them; dynalite
// does not, and no shim is written until the store needs one: this contract then becomes required. It runs
// against an engine given by its endpoint (FLEET_UPGRADE_DYNAMODB_ENGINE=http://…, test/support/dynamodb-engine.ts).
describe.runIf(engine.startsWith('http://'))(`transactions, not used by the store (${engine})`, () => {
  // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html, Errors:
  // TransactionCanceledException; "Cancellation reasons are ordered in the same order as the TransactItems";
  // "If no error occurred for an item, its code is None"; with ALL_OLD the failed item's Item is returned.
  it('a transaction with a failing condition is cancelled whole, with one reason per item in order', async () => {
    const error = await failure(
      db.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { pk: S('TX'), sk: S('1') } } },
            {
              ConditionCheck: {
                TableName: TABLE,
                Key: { pk: S('CLUSTER#c1'), sk: S('LOCK') },
                ConditionExpression: 'runId = :r',
                ExpressionAttributeValues: { ':r': S('run-9') },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      ),
    );
    expect(error.name).toBe('TransactionCanceledException');
    expect(error.CancellationReasons).toEqual([
      { Code: 'None' },
      expect.objectContaining({ Code: 'ConditionalCheckFailed', Item: expect.objectContaining({ runId: S('run-1') }) }),
    ]);
    expect(await getItem('TX', '1')).toBeUndefined();
  });
});

describe(`the store on this engine (${engine})`, () => {
  const store = () => new FleetStore(DynamoDBDocumentClient.from(db, { marshallOptions: { removeUndefinedValues: true } }), TABLE);
  const now = new Date('2030-02-01T00:00:00.000Z');

  it('a second run cannot take the cluster lock, and is told which run holds it until when', async () => {
    await store().acquireLock('c2', 'run-a', now, 600);
    await expect(store().acquireLock('c2', 'run-a', now, 600)).resolves.toEqual({ expiresAt: '2030-02-01T00:10:00.000Z' });
    const error = await failure(store().acquireLock('c2', 'run-b', now, 600));
    expect(error).toBeInstanceOf(ClusterLockedError);
    expect(error).toMatchObject({ heldBy: 'run-a', expiresAt: '2030-02-01T00:10:00.000Z' });
  });

  it('the holder renewing to an earlier time still holds the lock; another run does not', async () => {
    await expect(store().renewLock('c2', 'run-a', new Date(now.getTime() - 60_000), 600)).resolves.toBe(true);
    await expect(store().renewLock('c2', 'run-b', now, 900)).resolves.toBe(false);
    expect(await store().getLock('c2')).toEqual({ runId: 'run-a', expiresAt: '2030-02-01T00:10:00.000Z' });
  });

  it('a command is claimed once: then taken (with its state), and missing when it was never recorded', async () => {
    const command: PendingCommand = {
      commandId: 'cmd-1',
      taskToken: 'token-1',
      runId: 'run-a',
      cluster: 'c2',
      nodeId: 'dea-1',
      step: 'upgrade',
      targetVersion: '3.1.0',
      sentAt: now.toISOString(),
      ttl: 1,
    };
    await store().recordCommand(command);
    const first = await store().tryClaimCommand('cmd-1', now);
    expect(first).toMatchObject({ outcome: 'claimed', command: { commandId: 'cmd-1', state: 'ANSWERING', taskToken: 'token-1' } });
    await expect(store().tryClaimCommand('cmd-1', now)).resolves.toEqual({ outcome: 'taken', state: 'ANSWERING' });
    await expect(store().tryClaimCommand('cmd-never', now)).resolves.toEqual({ outcome: 'missing' });
  });

  it('a run of 60 nodes is written in batches and read back whole, in plan order', async () => {
    const order = Array.from({ length: 60 }, (_, i) => `dea-${i}`);
    const run: RunInfo = {
      runId: 'run-60',
      cluster: 'c3',
      targetVersion: '3.1.0',
      coreNode: 'core-1',
      startedAt: now.toISOString(),
      order,
      roles: Object.fromEntries(order.map((id) => [id, ['dea']])),
      plannedFrom: Object.fromEntries(order.map((id) => [id, '3.0.0'])),
    };
    await store().putRun(run);
    const read = await store().getRun('c3', 'run-60');
    expect(read?.order).toEqual(order);
    expect(read?.status).toBe('RUNNING');
  });
});
