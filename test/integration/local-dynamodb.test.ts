import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const moduleUrl = new URL('../../local/dynamodb/start.ts', import.meta.url).href;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const client = (db: LocalDynamoDb) =>
  new DynamoDBClient({ endpoint: db.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });

/** Running: exists and is not a zombie (an init that does not reap orphans at once must not fail the test). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
};

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

describe('the local DynamoDB keeps its tables where it is told', () => {
  it('with a directory, a later start on it finds the table, its items and its TTL setting (a rehearsal resumes)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-dynamodb-'));
    dirs.push(dir);
    const first = await startLocalDynamoDb({ dir });
    const a = client(first);
    await a.send(
      new CreateTableCommand({
        TableName: 'kept-table',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await a.send(new UpdateTimeToLiveCommand({ TableName: 'kept-table', TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }));
    await a.send(new PutItemCommand({ TableName: 'kept-table', Item: { pk: { S: 'RUN#r1' }, status: { S: 'RUNNING' } } }));
    a.destroy();
    await first.stop();

    const second = await startLocalDynamoDb({ dir });
    const b = client(second);
    try {
      expect((await b.send(new GetItemCommand({ TableName: 'kept-table', Key: { pk: { S: 'RUN#r1' } } }))).Item).toEqual({
        pk: { S: 'RUN#r1' },
        status: { S: 'RUNNING' },
      });
      expect((await b.send(new DescribeTimeToLiveCommand({ TableName: 'kept-table' }))).TimeToLiveDescription).toEqual({
        TimeToLiveStatus: 'ENABLED',
        AttributeName: 'ttl',
      });
    } finally {
      b.destroy();
      await second.stop();
    }
  });

  it('without one, the tables are in memory and gone when it stops', async () => {
    const first = await startLocalDynamoDb();
    const a = client(first);
    await a.send(
      new CreateTableCommand({
        TableName: 'memory-table',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    a.destroy();
    await first.stop();
    const second = await startLocalDynamoDb();
    const b = client(second);
    try {
      expect((await b.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    } finally {
      b.destroy();
      await second.stop();
    }
  });
});

/** A process that starts the local DynamoDB, prints its pid, then waits forever ('wait') or stops it and ends its main ('stop'). */
function starter(then: 'wait' | 'stop') {
  const code = `const { startLocalDynamoDb } = await import(${JSON.stringify(moduleUrl)});
const db = await startLocalDynamoDb();
console.log(JSON.stringify({ pid: db.pid }));
${then === 'wait' ? 'setInterval(() => {}, 1000);' : 'await db.stop();'}`;
  const child = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve((JSON.parse(line) as { pid: number }).pid);
    });
    child.once('exit', (code, signal) => reject(new Error(`the starter ended (${signal ?? code}) before the local DynamoDB started`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, started, exited };
}

describe('the local DynamoDB dies with the process that started it', () => {
  it('is gone when that process is killed by a signal (no exit handler runs)', async () => {
    const { child, started } = starter('wait');
    const engine = await started;
    try {
      expect(alive(engine)).toBe(true);
      child.kill('SIGKILL');
      expect(await gone(engine, 10_000)).toBe(true);
    } finally {
      if (alive(engine)) process.kill(engine, 'SIGKILL');
    }
  });

  it('once stopped, leaves nothing that keeps the process alive', async () => {
    const { child, started, exited } = starter('stop');
    const engine = await started;
    try {
      expect(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000))])).toBe(0);
      expect(alive(engine)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
