import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LocalDynamoDb } from '../local/dynamodb/start.js';
import { cpuSeconds } from './stats.js';
import { S, TABLE } from './engine-probe-features.js';

/** `fn` n times after 30 warm-ups: the median (the upper one for an even n) and the mean, in ms. */
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

/** ms per request of the store's usual operations, one after another and ten writers at once, with the CPU each side spent. */
export async function speed(db: DynamoDBClient, engine: LocalDynamoDb): Promise<Record<string, unknown>> {
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
