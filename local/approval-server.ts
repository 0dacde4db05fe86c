import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { APPROVAL_CALLBACK_PATH, APPROVAL_PAGE_PATH } from '../core/approval.js';
import { handler as approvalPageHandler } from '../lambdas/approval-page/index.js';

export type ApprovalPageHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export interface LocalApprovalServer {
  /** Base URL of the page, for `approvalLink(url, …)`: `http://127.0.0.1:<port>/approval`. */
  readonly url: string;
  close(): Promise<void>;
}

const MAX_REQUEST_BYTES = 64 * 1024;

/** Content types API Gateway passes as text; anything else arrives base64-encoded (as form posts do there). */
function isText(contentType: string): boolean {
  return /^(text\/|application\/json)/i.test(contentType);
}

/** A Node request → the API Gateway HTTP API payload format 2.0 event the Lambda receives. */
export function toApiGatewayEvent(req: IncomingMessage, body: Buffer, now = new Date()): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  // API Gateway moves cookies to their own field and says the scheme it was reached by; here it is plain http.
  const cookies = (headers.cookie ?? '')
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  delete headers.cookie;
  headers['x-forwarded-proto'] = 'http';
  const query: Record<string, string> = {};
  // API Gateway joins repeated parameters with commas.
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const base64 = body.length > 0 && !isText(headers['content-type'] ?? '');
  const method = (req.method ?? 'GET').toUpperCase();
  return {
    version: '2.0',
    routeKey: `ANY ${url.pathname}`,
    rawPath: url.pathname,
    ...(cookies.length > 0 ? { cookies } : {}),
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: `local-${now.getTime()}`,
      routeKey: `ANY ${url.pathname}`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: base64 ? body.toString('base64') : body.toString('utf8') } : {}),
    isBase64Encoded: base64,
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Whether a request is for the approval page (the page or its sign-in callback), as the stack routes it. */
export function isApprovalPath(url: string | undefined): boolean {
  const path = new URL(url ?? '/', 'http://127.0.0.1').pathname;
  return path === APPROVAL_PAGE_PATH || path === APPROVAL_CALLBACK_PATH;
}

/** Answers one HTTP request with the page's handler, as API Gateway would: event in, response out. */
export async function serveApprovalRequest(req: IncomingMessage, res: ServerResponse, handle: ApprovalPageHandler): Promise<void> {
  try {
    if (!isApprovalPath(req.url)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    const body = await readBody(req);
    if (body === null) {
      res.writeHead(413, { 'content-type': 'application/json' }).end('{"message":"Request Entity Too Large"}');
      return;
    }
    const out = await handle(toApiGatewayEvent(req, body));
    const text = out.body ?? '';
    const payload = out.isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
    const headers: Record<string, string | number> = {};
    for (const [name, value] of Object.entries(out.headers ?? {})) headers[name] = typeof value === 'boolean' ? String(value) : value;
    if (out.cookies !== undefined && out.cookies.length > 0) res.setHeader('set-cookie', out.cookies);
    res.writeHead(out.statusCode ?? 200, { ...headers, 'content-length': payload.length }).end(payload);
  } catch {
    // What API Gateway answers when the integration fails.
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"message":"Internal Server Error"}');
  }
}

/**
 * The approval page on loopback: the same handler as in Lambda, behind a translation of Node's HTTP
 * requests into API Gateway v2 events and back. Only `/approval` and its sign-in callback are routed, as in the stack.
 */
export async function startApprovalServer(opts: { port?: number; handler?: ApprovalPageHandler } = {}): Promise<LocalApprovalServer> {
  const handle = opts.handler ?? approvalPageHandler;
  const server: Server = createServer((req, res) => {
    void serveApprovalRequest(req, res, handle);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}${APPROVAL_PAGE_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
