import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { AwsJsonError, type JsonOperation } from './json-protocol.js';
import { isApprovalPath, serveApprovalRequest, type ApprovalPageHandler } from './approval-server.js';
import { answerDoctorQuery, doctorSsmOperations, type DoctorWorld } from './doctor-endpoints.js';

/** What the routes need of the local runtime. */
export interface RoutedRuntime {
  operations(): Record<string, JsonOperation>;
  describeStacksXml(stackName: string | null): string;
  readonly stack: { readonly dynamodb: { readonly endpoint: string }; readonly sns: { readonly endpoint: string }; readonly taggingEndpoint: string };
  /** The approval page's handler, run as its function. */
  approvalPage(): ApprovalPageHandler;
  /** What doctor asks that only it asks (STS, stack resources, IAM simulation, SSM document and agents). */
  doctorWorld(): DoctorWorld;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 4 * 1024 * 1024) throw new AwsJsonError('SerializationException', 'request too large', 413);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: string, contentType: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** DynamoDB and SNS calls go to their local endpoints unchanged (they ignore signatures). */
function proxy(target: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
  return new Promise((done, fail) => {
    const url = new URL(target);
    const headers = { ...req.headers, host: url.host, 'content-length': String(body.length) };
    const out = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 500, answer.headers);
      answer.pipe(res);
      answer.on('end', () => done());
    });
    out.on('error', fail);
    out.end(body);
  });
}

/**
 * The one loopback port of `local serve`, routed by protocol: the approval page (GET/POST /approval), Step Functions
 * (JSON 1.0, answered here), DynamoDB and tag:GetResources (passed to their local endpoints), the few SSM calls
 * doctor makes, CloudFormation, STS, IAM's simulator and SNS (Query protocol, told apart by Action and Version).
 */
export async function routeRequest(req: IncomingMessage, res: ServerResponse, runtime: () => RoutedRuntime | undefined): Promise<void> {
  const json = 'application/x-amz-json-1.0';
  try {
    const rt = runtime();
    if (rt === undefined) throw new AwsJsonError('ServiceUnavailable', 'the local runtime is still starting', 503);
    // The approval page and its sign-in callback, as API Gateway routes them in the stack.
    if (isApprovalPath(req.url)) {
      await serveApprovalRequest(req, res, rt.approvalPage());
      return;
    }
    if (req.method !== 'POST') throw new AwsJsonError('UnknownOperationException', 'only POST is supported', 405);
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const [prefix = '', operation = ''] = target.split('.');
    if (prefix === 'DynamoDB_20120810') {
      await proxy(rt.stack.dynamodb.endpoint, req, body, res);
      return;
    }
    if (prefix === 'ResourceGroupsTaggingAPI_20170126') {
      await proxy(rt.stack.taggingEndpoint, req, body, res);
      return;
    }
    if (prefix === 'AmazonSSM') {
      const handler = doctorSsmOperations(rt.doctorWorld())[operation];
      if (handler === undefined)
        throw new AwsJsonError(
          'UnknownOperationException',
          `operation ${target} is not supported locally (local serve answers DescribeDocument and DescribeInstanceInformation for doctor)`,
        );
      const request = (body.length === 0 ? {} : JSON.parse(body.toString('utf8'))) as Record<string, unknown>;
      send(res, 200, JSON.stringify((await handler(request)) ?? {}), 'application/x-amz-json-1.1');
      return;
    }
    if (prefix === 'AWSStepFunctions') {
      const handler = rt.operations()[operation];
      if (handler === undefined) throw new AwsJsonError('UnknownOperationException', `operation ${target} is not supported locally`);
      const request = (body.length === 0 ? {} : JSON.parse(body.toString('utf8'))) as Record<string, unknown>;
      send(res, 200, JSON.stringify((await handler(request)) ?? {}), json);
      return;
    }
    const form = new URLSearchParams(body.toString('utf8'));
    if (form.get('Action') === 'DescribeStacks') {
      send(res, 200, rt.describeStacksXml(form.get('StackName')), 'text/xml');
      return;
    }
    const doctor = answerDoctorQuery(rt.doctorWorld(), form);
    if (doctor !== null) {
      send(res, 200, doctor, 'text/xml');
      return;
    }
    // SNS (Query protocol, told apart by its version): the operator topic's subscriptions.
    if (form.get('Version') === '2010-03-31') {
      await proxy(rt.stack.sns.endpoint, req, body, res);
      return;
    }
    throw new AwsJsonError('UnknownOperationException', `request ${target || (form.get('Action') ?? '')} is not supported locally`);
  } catch (error) {
    const e = error instanceof AwsJsonError ? error : new AwsJsonError('InternalServerError', error instanceof Error ? error.message : String(error), 500);
    if (!res.headersSent) send(res, e.status, JSON.stringify({ __type: e.type, message: e.message }), json);
    else res.end();
  }
}
