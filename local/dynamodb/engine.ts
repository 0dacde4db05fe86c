import type { IncomingHttpHeaders, Server } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/** An engine's answer to one DynamoDB request, as it would go on the wire. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A DynamoDB engine that answers requests in this process (the compatibility layer sits in front of it). */
export interface Engine {
  /**
   * Answers one request: `operation` as in X-Amz-Target (`PutItem`), `body` the JSON request. A client's request
   * passed through keeps its own `headers` (its X-Amz-Target, signature, content type).
   */
  send(operation: string, body: string, headers?: IncomingHttpHeaders): Promise<Answer>;
  close(): Promise<void>;
}

/** Where the engine keeps its tables under a data directory (LevelDB files). */
export const TABLES_DIR = 'tables';

/** Requests the layer makes itself: dynalite checks that a signature is there, not what it signs. */
const OWN_HEADERS: IncomingHttpHeaders = {
  'content-type': 'application/x-amz-json-1.0',
  authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=local',
  'x-amz-date': '20260101T000000Z',
};

type RequestListener = (req: unknown, res: unknown) => void;

/**
 * dynalite (Apache-2.0, on LevelDB): tables in memory, or in `dir` when given. Requests are handed to its HTTP
 * handler in-process (no second loopback hop); its server listens on loopback only so that close() closes the
 * store as dynalite does (a graceful LevelDB close). Tables are ACTIVE at once, as DynamoDB Local made them.
 */
export async function startDynalite(dir?: string): Promise<Engine> {
  const dynalite = createRequire(import.meta.url)('dynalite') as (options: object) => Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(dir === undefined ? {} : { path: join(dir, TABLES_DIR) }) });
  const handler = server.listeners('request')[0] as RequestListener | undefined;
  if (handler === undefined) throw new Error('dynalite has no request handler');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    send(operation, body, headers = OWN_HEADERS) {
      return new Promise<Answer>((resolve) => {
        const req = Object.assign(Readable.from(body.length === 0 ? [] : [Buffer.from(body)]), {
          method: 'POST',
          url: '/',
          headers: { 'x-amz-target': `DynamoDB_20120810.${operation}`, ...headers },
        });
        const answer: Answer = { status: 200, headers: {}, body: '' };
        const res = {
          contentType: '',
          set statusCode(status: number) {
            answer.status = status;
          },
          get statusCode() {
            return answer.status;
          },
          setHeader(name: string, value: unknown) {
            answer.headers[name.toLowerCase()] = String(value);
          },
          end(text?: string) {
            answer.body = text ?? '';
            resolve(answer);
          },
        };
        handler(req, res);
      });
    },
    close: () => new Promise<void>((resolve, reject) => server.close((error?: Error) => (error ? reject(error) : resolve()))),
  };
}
