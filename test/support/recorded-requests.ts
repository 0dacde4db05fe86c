import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { setClientHook } from '../../adapters/aws-clients.js';

/** One DynamoDB request as sent (`command`: the operation, e.g. Query, GetItem, BatchGetItem), and how many items it returned. */
export interface RecordedRequest {
  command: string;
  input: Record<string, unknown>;
  itemsReturned: number;
}

/** One read of a run's partition: a Query (with the sort-key prefix it asked for, if any) or a read by key. */
export interface PartitionRead {
  command: string;
  /** Query only: the begins_with prefix; undefined when it asked for the whole partition. */
  prefix?: string | undefined;
  /** GetItem / BatchGetItem: the sort keys asked for. */
  sks?: string[];
  itemsReturned: number;
}

type Middleware = (
  next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>,
  context: { commandName?: string },
) => (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;
interface Instrumentable {
  middlewareStack: { add: (middleware: Middleware, options: { step: 'initialize'; name: string }) => void };
}

function record(client: Instrumentable, requests: RecordedRequest[]): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const o = out.output;
      const responses = (o.Responses ?? {}) as Record<string, unknown[]>;
      const itemsReturned =
        typeof o.Count === 'number' ? o.Count : o.Item !== undefined ? 1 : Object.values(responses).reduce((n, items) => n + items.length, 0);
      requests.push({ command: (context.commandName ?? '').replace(/Command$/, ''), input: args.input, itemsReturned });
      return out;
    },
    { step: 'initialize', name: 'recordRequests' },
  );
}

/** A document client on `endpoint` that records every request it sends (a real engine, nothing mocked). */
export function recordingClient(endpoint: string): { db: DynamoDBDocumentClient; requests: RecordedRequest[] } {
  const requests: RecordedRequest[] = [];
  const base = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  record(base as unknown as Instrumentable, requests);
  return { db: DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } }), requests };
}

/** Records the requests of the DynamoDB client the handlers build from now on, until `stop`. */
export function recordHandlerRequests(): { requests: RecordedRequest[]; stop: () => void } {
  const requests: RecordedRequest[] = [];
  setClientHook((client, name) => {
    if (name === 'DynamoDBClient') record(client as unknown as Instrumentable, requests);
  });
  return { requests, stop: () => setClientHook(undefined) };
}

/** A key attribute as sent: plain (document client) or in DynamoDB's attribute-value form. */
function plain(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const s = (value as { S?: unknown } | undefined)?.S;
  return typeof s === 'string' ? s : undefined;
}

/** The reads of partition `pk` among `requests`. */
export function partitionReads(requests: readonly RecordedRequest[], pk: string): PartitionRead[] {
  const reads: PartitionRead[] = [];
  for (const { command, input, itemsReturned } of requests) {
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
    if (command === 'Query' && plain(values[':pk']) === pk) {
      const prefix = /begins_with\(sk, (:\w+)\)/.exec(String(input.KeyConditionExpression))?.[1];
      reads.push({ command, prefix: prefix === undefined ? undefined : plain(values[prefix]), itemsReturned });
    }
    const key = input.Key as { pk?: unknown; sk?: unknown } | undefined;
    if (command === 'GetItem' && plain(key?.pk) === pk) reads.push({ command, sks: [String(plain(key?.sk))], itemsReturned });
    if (command === 'BatchGetItem') {
      const keys = Object.values((input.RequestItems ?? {}) as Record<string, { Keys?: { pk?: unknown; sk?: unknown }[] }>).flatMap((r) => r.Keys ?? []);
      const mine = keys.filter((k) => plain(k.pk) === pk);
      if (mine.length > 0) reads.push({ command, sks: mine.map((k) => String(plain(k.sk))), itemsReturned });
    }
  }
  return reads;
}
