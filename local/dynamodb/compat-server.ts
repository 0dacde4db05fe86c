import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdirSync } from 'node:fs';
import { errorAnswer } from './answers.js';
import { startDynalite, type Answer, type Engine } from './engine.js';
import { ItemLocks } from './item-locks.js';
import { CONDITIONAL_WRITES, OldItemOnFailure, type ConditionalWrite } from './old-item-on-failure.js';
import { TimeToLive } from './time-to-live.js';

/** Which parts of the layer are on (all, unless a test shows what a gap does without its part). */
export interface CompatOptions {
  /** ReturnValuesOnConditionCheckFailure (old-item-on-failure.ts). @default true */
  oldItemOnFailure?: boolean;
  /** UpdateTimeToLive / DescribeTimeToLive (time-to-live.ts). @default true */
  timeToLive?: boolean;
}

/** DynamoDB served on loopback: the engine, with the compatibility layer in front. */
export interface LocalDynamoDbServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The compatibility layer over an engine, as a DynamoDB JSON 1.0 endpoint: each request the engine answers as
 * DynamoDB does passes through unchanged; the gaps (docs/local-dynamodb-engine.md) are answered here.
 */
export function compatHandler(engine: Engine, opts: CompatOptions & { dir?: string } = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const locks = new ItemLocks(engine);
  const oldItem = opts.oldItemOnFailure === false ? undefined : new OldItemOnFailure(engine, locks);
  const ttl = opts.timeToLive === false ? undefined : new TimeToLive(engine, opts.dir);

  async function answer(operation: string, body: string, headers: IncomingMessage['headers']): Promise<Answer> {
    const passThrough = () => engine.send(operation, body, headers);
    let request: Record<string, unknown>;
    try {
      request = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return passThrough(); // the engine answers SerializationException, as DynamoDB does
    }
    if (oldItem !== undefined && (CONDITIONAL_WRITES as readonly string[]).includes(operation))
      return oldItem.write(operation as ConditionalWrite, request, passThrough);
    if (operation === 'BatchWriteItem') {
      // Its writes wait for the single-item writes under way on the same items, as those wait for each other.
      const names: string[] = [];
      for (const [table, writes] of Object.entries(
        (request.RequestItems ?? {}) as Record<string, { PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } }[]>,
      )) {
        for (const w of Array.isArray(writes) ? writes : []) {
          const item = await locks.keyOf(table, w.PutRequest?.Item ?? w.DeleteRequest?.Key);
          if (item !== undefined) names.push(item.name);
        }
      }
      return locks.run(names, passThrough);
    }
    if (ttl !== undefined && operation === 'UpdateTimeToLive') return ttl.update(request);
    if (ttl !== undefined && operation === 'DescribeTimeToLive') return ttl.describe(request);
    if (operation === 'CreateTable' || operation === 'DeleteTable') {
      const answered = await passThrough();
      locks.forget(request.TableName);
      if (operation === 'DeleteTable' && answered.status < 400) ttl?.forget(request.TableName);
      return answered;
    }
    return passThrough();
  }

  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.slice(target.indexOf('.') + 1);
      answer(operation, Buffer.concat(chunks).toString('utf8'), req.headers)
        .catch((error: unknown) => ({ ...errorAnswer('InternalServerError', error instanceof Error ? error.message : String(error)), status: 500 }))
        .then((a) => {
          res.writeHead(a.status, { ...a.headers, 'content-length': String(Buffer.byteLength(a.body)) });
          res.end(a.body);
        });
    });
  };
}

/**
 * dynalite with the compatibility layer, listening on loopback (`port`, or a free one): tables in `dir` when
 * given (created if missing; a later server on the same directory finds them), else in memory.
 */
export async function serveLocalDynamoDb(opts: CompatOptions & { dir?: string; port?: number } = {}): Promise<LocalDynamoDbServer> {
  if (opts.dir !== undefined) mkdirSync(opts.dir, { recursive: true });
  const engine = await startDynalite(opts.dir);
  const server: Server = createServer(compatHandler(engine, opts));
  // The SDK keeps connections open between requests; close() must not wait for them.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the local DynamoDB did not listen on a TCP port');
  return {
    port: address.port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await engine.close();
    },
  };
}
