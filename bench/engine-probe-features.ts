import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { STORE_TABLE_KEYS } from '../local/dynamodb/table.js';

/** The probes' table: the features probe creates it and leaves the 40 items of `RUN#q` that the speed probe queries. */
export const TABLE = 'probe-table';
export const S = (s: string): AttributeValue => ({ S: s });
const errorShape = (e: unknown) => {
  const err = e as { name?: string; message?: string; Item?: unknown; CancellationReasons?: unknown; $metadata?: { httpStatusCode?: number } };
  return {
    name: err.name,
    message: err.message?.slice(0, 160),
    status: err.$metadata?.httpStatusCode,
    ...(err.Item !== undefined ? { Item: err.Item } : {}),
    ...(err.CancellationReasons !== undefined ? { CancellationReasons: err.CancellationReasons } : {}),
  };
};

async function attempt(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await fn() };
  } catch (e) {
    return { error: errorShape(e) };
  }
}
/** What the engine does with each DynamoDB feature the store uses (and a few it avoids): the answer, or the error's shape. */
export async function features(db: DynamoDBClient): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const lock = { pk: S('CLUSTER#c'), sk: S('LOCK') };
  const t0 = performance.now();
  await db.send(
    new CreateTableCommand({
      TableName: TABLE,
      ...STORE_TABLE_KEYS,
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  while ((await db.send(new DescribeTableCommand({ TableName: TABLE }))).Table?.TableStatus !== 'ACTIVE') await new Promise((r) => setTimeout(r, 10));
  out.createTableActiveMs = Math.round(performance.now() - t0);
  out.updateTimeToLive = await attempt(async () => {
    await db.send(new UpdateTimeToLiveCommand({ TableName: TABLE, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }));
    return (await db.send(new DescribeTimeToLiveCommand({ TableName: TABLE }))).TimeToLiveDescription;
  });

  const putLock = (run: string, rv?: 'ALL_OLD') =>
    db.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { ...lock, runId: S(run), expiresAt: S('2030-01-01T00:00:00.000Z') },
        ConditionExpression: 'attribute_not_exists(pk) OR runId = :run',
        ExpressionAttributeValues: { ':run': S(run) },
        ...(rv ? { ReturnValuesOnConditionCheckFailure: rv } : {}),
      }),
    );
  out.conditionalPutReentrant = await attempt(async () => {
    await putLock('r1');
    await putLock('r1');
    return 'taken twice by r1';
  });
  out.conditionalPutFails = await attempt(() => putLock('r2'));
  out.conditionalPutFailsIsClass = await putLock('r2').then(
    () => false,
    (e: unknown) => e instanceof ConditionalCheckFailedException,
  );
  out.putReturnValuesOnConditionCheckFailure = await attempt(() => putLock('r2', 'ALL_OLD'));
  out.updateReturnValuesOnConditionCheckFailure = await attempt(() =>
    db.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: lock,
        UpdateExpression: 'SET expiresAt = :until',
        ConditionExpression: 'runId = :run AND (attribute_not_exists(expiresAt) OR expiresAt < :until)',
        ExpressionAttributeValues: { ':run': S('r1'), ':until': S('2029-01-01T00:00:00.000Z') },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    ),
  );
  out.updateMissingItemReturnValuesOnConditionCheckFailure = await attempt(() =>
    db.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: S('COMMAND#missing'), sk: S('COMMAND') },
        UpdateExpression: 'SET #state = :a',
        ConditionExpression: '#state = :p',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':a': S('ANSWERING'), ':p': S('PENDING') },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    ),
  );
  out.deleteReturnValuesOnConditionCheckFailure = await attempt(() =>
    db.send(
      new DeleteItemCommand({
        TableName: TABLE,
        Key: lock,
        ConditionExpression: 'runId = :run',
        ExpressionAttributeValues: { ':run': S('r2') },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    ),
  );
  out.updateAllNewIfNotExistsAddSetArithmeticRemove = await attempt(async () => {
    const Key = { pk: S('RUN#r'), sk: S('HELD#n1') };
    await db.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key,
        UpdateExpression: 'SET taskToken = :t, since = if_not_exists(since, :at), heldMs = if_not_exists(heldMs, :zero) ADD waitedFor :for',
        ExpressionAttributeValues: { ':t': S('tok'), ':at': S('2026-01-01T00:00:00Z'), ':zero': { N: '0' }, ':for': { SS: ['n2'] } },
      }),
    );
    const r = await db.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key,
        UpdateExpression: 'SET heldMs = heldMs + :w, #log = list_append(if_not_exists(#log, :empty), :entry) REMOVE taskToken, since ADD waitedFor :more',
        ConditionExpression: 'taskToken = :t',
        ExpressionAttributeNames: { '#log': 'log' },
        ExpressionAttributeValues: { ':w': { N: '1500' }, ':t': S('tok'), ':empty': { L: [] }, ':entry': { L: [S('released')] }, ':more': { SS: ['n3'] } },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return r.Attributes;
  });
  out.deleteReturnValuesAllOld = await attempt(
    async () =>
      (await db.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: S('RUN#r'), sk: S('HELD#n1') }, ReturnValues: 'ALL_OLD' }))).Attributes !== undefined,
  );
  out.getProjectionConsistent = await attempt(async () => {
    await db.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: S('CLUSTER#c'), sk: S('RUN#r'), status: S('RUNNING'), finishedAt: S('x'), summary: { M: { big: S('y') } } },
      }),
    );
    return (
      await db.send(
        new GetItemCommand({
          TableName: TABLE,
          Key: { pk: S('CLUSTER#c'), sk: S('RUN#r') },
          ProjectionExpression: '#s, finishedAt',
          ExpressionAttributeNames: { '#s': 'status' },
          ConsistentRead: true,
        }),
      )
    ).Item;
  });
  out.emptyStringAttribute = await attempt(() =>
    db.send(new PutItemCommand({ TableName: TABLE, Item: { pk: S('X'), sk: S('empty'), output: S('') } })).then(() => 'accepted'),
  );

  // 40 items in one partition, as a run's checkpoints of a few nodes.
  for (let i = 0; i < 40; i += 20) {
    await db.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [TABLE]: Array.from({ length: 20 }, (_, j) => ({
            PutRequest: { Item: { pk: S('RUN#q'), sk: S(`NODE#n${String(i + j).padStart(2, '0')}#STEP#01`), status: S('SUCCEEDED') } },
          })),
        },
      }),
    );
  }
  out.queryBeginsWithConsistent = await attempt(async () => {
    const r = await db.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': S('RUN#q'), ':p': S('NODE#n1') },
        ConsistentRead: true,
      }),
    );
    return { count: r.Count, first: r.Items?.[0]?.sk, last: r.Items?.at(-1)?.sk, lastEvaluatedKey: r.LastEvaluatedKey ?? null };
  });
  out.queryLimitPages = await attempt(async () => {
    const pages: number[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const r = await db.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': S('RUN#q') },
          Limit: 15,
          ExclusiveStartKey: start,
        }),
      );
      pages.push(r.Count ?? 0);
      start = r.LastEvaluatedKey;
    } while (start !== undefined);
    return pages;
  });
  const bigValue = 'x'.repeat(350 * 1024);
  for (let i = 0; i < 4; i++) await db.send(new PutItemCommand({ TableName: TABLE, Item: { pk: S('BIG'), sk: S(`ITEM#${i}`), data: S(bigValue) } }));
  out.query1MbPage = await attempt(async () => {
    const r = await db.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': S('BIG') } }));
    return { count: r.Count, lastEvaluatedKey: r.LastEvaluatedKey ?? null };
  });
  // 400 KB = 409,600 bytes: attribute names and values (UTF-8) count.
  const sized = (bytes: number) => ({
    pk: S('SIZE'),
    sk: S('s'),
    d: S('x'.repeat(bytes - 'pk'.length - 'SIZE'.length - 'sk'.length - 's'.length - 'd'.length)),
  });
  out.itemAt400KB = await attempt(() => db.send(new PutItemCommand({ TableName: TABLE, Item: sized(409_600) })).then(() => 'accepted'));
  out.itemOver400KB = await attempt(() => db.send(new PutItemCommand({ TableName: TABLE, Item: sized(409_601) })));
  out.updateOver400KB = await attempt(() =>
    db.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: S('SIZE'), sk: S('s') },
        UpdateExpression: 'SET e = :e',
        ExpressionAttributeValues: { ':e': S('y') },
      }),
    ),
  );
  out.batchWrite25 = await attempt(
    async () =>
      (
        await db.send(
          new BatchWriteItemCommand({
            RequestItems: { [TABLE]: Array.from({ length: 25 }, (_, j) => ({ PutRequest: { Item: { pk: S('B'), sk: S(`${j}`) } } })) },
          }),
        )
      ).UnprocessedItems,
  );
  out.batchWrite26 = await attempt(() =>
    db.send(
      new BatchWriteItemCommand({ RequestItems: { [TABLE]: Array.from({ length: 26 }, (_, j) => ({ PutRequest: { Item: { pk: S('B'), sk: S(`${j}`) } } })) } }),
    ),
  );
  out.batchGet = await attempt(async () => {
    const r = await db.send(
      new BatchGetItemCommand({
        RequestItems: {
          [TABLE]: {
            Keys: [
              { pk: S('B'), sk: S('1') },
              { pk: S('B'), sk: S('nope') },
            ],
            ConsistentRead: true,
          },
        },
      }),
    );
    return { found: r.Responses?.[TABLE]?.length, unprocessed: r.UnprocessedKeys };
  });
  out.transactWriteItems = await attempt(() =>
    db.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: TABLE, Item: { pk: S('T'), sk: S('1') }, ConditionExpression: 'attribute_not_exists(pk)' } },
          {
            Update: {
              TableName: TABLE,
              Key: lock,
              UpdateExpression: 'SET x = :x',
              ConditionExpression: 'runId = :r',
              ExpressionAttributeValues: { ':x': S('x'), ':r': S('r2') },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
        ],
      }),
    ),
  );
  out.transactGetItems = await attempt(() => db.send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: TABLE, Key: lock } }] })));
  out.scan = await attempt(async () => (await db.send(new ScanCommand({ TableName: TABLE, Limit: 5 }))).Count);
  return out;
}
