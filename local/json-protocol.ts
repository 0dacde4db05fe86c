import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** An error answered in the AWS JSON protocol: the SDK turns `__type` into the exception's name. */
export class AwsJsonError extends Error {
  constructor(
    public readonly type: string,
    message: string,
    public readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export type JsonOperation = (request: Record<string, unknown>) => Promise<unknown> | unknown;

export interface JsonProtocolServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new AwsJsonError('SerializationException', 'request too large', 413);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function answer(res: ServerResponse, status: number, body: unknown, contentType: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * A loopback server speaking the AWS JSON protocol (`X-Amz-Target: <prefix>.<Operation>`), so the real
 * SDK clients, given `endpoint`, talk to local implementations exactly as they talk to AWS.
 */
export async function startJsonProtocolServer(opts: {
  targetPrefix: string;
  contentType: string;
  operations: Record<string, JsonOperation>;
}): Promise<JsonProtocolServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        if (req.method !== 'POST') throw new AwsJsonError('UnknownOperationException', 'only POST is supported', 405);
        const target = String(req.headers['x-amz-target'] ?? '');
        const [prefix, operation = ''] = target.split('.');
        const handler = prefix === opts.targetPrefix ? opts.operations[operation] : undefined;
        if (handler === undefined) throw new AwsJsonError('UnknownOperationException', `operation ${target} is not supported locally`);
        const body = await readBody(req, 1024 * 1024);
        const request = (body === '' ? {} : JSON.parse(body)) as Record<string, unknown>;
        answer(res, 200, (await handler(request)) ?? {}, opts.contentType);
      } catch (error) {
        const e = error instanceof AwsJsonError ? error : new AwsJsonError('InternalServerError', String(error instanceof Error ? error.message : error), 500);
        answer(res, e.status, { __type: e.type, message: e.message }, opts.contentType);
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
