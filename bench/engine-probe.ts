/**
 * Probes a local DynamoDB engine on the features our store uses, then times it (docs/local-dynamodb-engine.md
 * records the results). Each engine runs as its own process on loopback, so the CPU it spends is read apart.
 *
 *   tsx bench/engine-probe.ts local-dynamodb | local-dynamodb-disk | dynalite | dynalite-disk | dynalite-inprocess | http://127.0.0.1:PORT
 *
 * local-dynamodb is ours (local/dynamodb/start.ts: dynalite with the compatibility layer, in its own process);
 * the dynalite ones are dynalite alone; an endpoint is an engine started by hand (DynamoDB Local was probed as
 * `java -Djava.library.path=DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -sharedDb -port PORT`).
 *
 * Prints one JSON object: per feature, what the engine did; per operation, ms per request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { freePort } from '../local/free-port.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../local/dynamodb/start.js';
import { startBareDynalite } from '../local/dynamodb/bare.js';
import { STORE_TABLE_KEYS, localDynamoDbClient } from '../local/dynamodb/table.js';

type Engine = LocalDynamoDb;

async function startEngine(name: string): Promise<Engine> {
  if (name.startsWith('http')) return { endpoint: name, pid: undefined, stop: async () => undefined };
  if (name === 'local-dynamodb' || name === 'local-dynamodb-disk') {
    const dir = name === 'local-dynamodb-disk' ? mkdtempSync(join(tmpdir(), 'probe-local-')) : undefined;
    const d = await startLocalDynamoDb(dir === undefined ? {} : { dir });
    return {
      endpoint: d.endpoint,
      pid: d.pid,
      stop: async () => {
        await d.stop();
        if (dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const require = createRequire(import.meta.url);
  if (name === 'dynalite-inprocess') return startBareDynalite();
  if (name === 'dynalite' || name === 'dynalite-disk') {
    const port = await freePort();
    const dir = name === 'dynalite-disk' ? mkdtempSync(join(tmpdir(), 'probe-dynalite-')) : undefined;
    const cli = require.resolve('dynalite/cli.js');
    const child: ChildProcess = spawn(
      process.execPath,
      [cli, '--host', '127.0.0.1', '--port', String(port), '--createTableMs', '0', ...(dir ? ['--path', dir] : [])],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    return {
      endpoint: `http://127.0.0.1:${port}`,
      pid: child.pid,
      async stop() {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
        if (dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error(`unknown engine ${name}`);
}

function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const TABLE = 'probe-table';
const S = (s: string): AttributeValue => ({ S: s });
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

async function features(db: DynamoDBClient): Promise<Record<string, unknown>> {
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

async function timed(n: number, fn: (i: number) => Promise<unknown>): Promise<{ medianMs: number; meanMs: number }> {
  for (let i = 0; i < 30; i++) await fn(-1 - i); // warm-up
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { medianMs: r(times[Math.floor(n / 2)] ?? 0), meanMs: r(times.reduce((a, b) => a + b, 0) / n) };
}

async function speed(db: DynamoDBClient, engine: Engine): Promise<Record<string, unknown>> {
  const cpu = process.cpuUsage();
  const engineCpu = cpuSeconds(engine.pid);
  const N = 300;
  const conditionalPut = await timed(N, (i) =>
    db.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: S('RUN#speed'), sk: S(`NODE#n${i}#STEP#01`), status: S('RUNNING'), startedAt: S(new Date().toISOString()) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ),
  );
  const conditionalUpdate = await timed(N, (i) =>
    db.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: S('RUN#speed'), sk: S(`NODE#n${Math.max(i, 0)}#STEP#01`) },
        UpdateExpression: 'SET #s = :done, finishedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':done': S('SUCCEEDED'), ':at': S('now') },
      }),
    ),
  );
  const get = await timed(N, (i) =>
    db.send(new GetItemCommand({ TableName: TABLE, Key: { pk: S('RUN#speed'), sk: S(`NODE#n${Math.max(i, 0)}#STEP#01`) }, ConsistentRead: true })),
  );
  const query40 = await timed(200, () =>
    db.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': S('RUN#q'), ':p': S('NODE#') },
        ConsistentRead: true,
      }),
    ),
  );
  // Ten writers at once, as ten nodes in flight.
  const t = performance.now();
  const inFlight = 10;
  const each = 50;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      for (let i = 0; i < each; i++) {
        await db.send(
          new PutItemCommand({
            TableName: TABLE,
            Item: { pk: S(`RUN#c${w}`), sk: S(`STEP#${i}`), status: S('RUNNING') },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      }
    }),
  );
  const tenInFlightMsPerPut = Math.round(((performance.now() - t) / (inFlight * each)) * 100) / 100;
  const used = process.cpuUsage(cpu);
  const requests = 3 * (N + 30) + 230 + inFlight * each;
  return {
    conditionalPut,
    conditionalUpdate,
    consistentGet: get,
    query40Items: query40,
    tenInFlightMsPerPut,
    cpuMsPerRequest: {
      clientProcess: Math.round(((used.user + used.system) / 1000 / requests) * 100) / 100,
      engineProcess: engine.pid === undefined ? null : Math.round((((cpuSeconds(engine.pid) - engineCpu) * 1000) / requests) * 100) / 100,
    },
  };
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'dynalite';
  const started = performance.now();
  const engine = await startEngine(name);
  const db = localDynamoDbClient(engine.endpoint);
  await db.send(new ListTablesCommand({}));
  const startMs = Math.round(performance.now() - started);
  try {
    const result = { engine: name, node: process.version, startMs, features: await features(db), speed: await speed(db, engine) };
    console.log(JSON.stringify(result, null, 1));
  } finally {
    db.destroy();
    await engine.stop();
  }
}

await main();
