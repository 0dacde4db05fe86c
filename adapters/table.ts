import {
  BatchGetCommand,
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
  type BatchWriteCommandInput,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Key } from './keys.js';

/** Waits before asking again for what a batch request left unprocessed (throttling): growing, at most a second. */
const backOff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));

/** One DynamoDB table through the document client, with the paging and retry loops every store shares. */
export class Table {
  constructor(
    readonly db: DynamoDBDocumentClient,
    readonly name: string,
  ) {}

  /** One item by key, or undefined; strongly consistent when asked (a write just before must be seen). */
  async get(key: Key, consistent = false): Promise<Record<string, unknown> | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.name, Key: key, ...(consistent ? { ConsistentRead: true } : {}) }));
    return out.Item;
  }

  /** Every item of a partition, or of its sort keys under `skPrefix`, page after page. */
  async query(pk: string, skPrefix?: string, consistent = false): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.name,
          KeyConditionExpression: skPrefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :sk)',
          ExpressionAttributeValues: skPrefix === undefined ? { ':pk': pk } : { ':pk': pk, ':sk': skPrefix },
          ExclusiveStartKey: startKey,
          ...(consistent ? { ConsistentRead: true } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  /** Items by key, 100 to a request (BatchGetItem's limit), in no particular order; keys not found are left out. */
  async batchGet(keys: readonly Key[]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for (let i = 0; i < keys.length; i += 100) {
      let requests: BatchGetCommandInput['RequestItems'] = { [this.name]: { Keys: keys.slice(i, i + 100) } };
      for (let attempt = 0; requests !== undefined && Object.keys(requests).length > 0; attempt++) {
        if (attempt > 0) await backOff(attempt);
        const out: BatchGetCommandOutput = await this.db.send(new BatchGetCommand({ RequestItems: requests }));
        items.push(...(out.Responses?.[this.name] ?? []));
        requests = out.UnprocessedKeys;
      }
    }
    return items;
  }

  /** Writes items 25 to a request (BatchWriteItem's limit), asking again for those DynamoDB left unprocessed. */
  async batchPut(items: readonly Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < items.length; i += 25) {
      let requests: BatchWriteCommandInput['RequestItems'] = { [this.name]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) };
      for (let attempt = 0; requests !== undefined && Object.keys(requests).length > 0; attempt++) {
        if (attempt > 0) await backOff(attempt);
        const out: BatchWriteCommandOutput = await this.db.send(new BatchWriteCommand({ RequestItems: requests }));
        requests = out.UnprocessedItems;
      }
    }
  }
}

/** A string set (sorted) or list attribute as an array of strings; anything else as none. */
export function strings(value: unknown): string[] {
  if (value instanceof Set) return [...(value as Set<string>)].sort();
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : [];
}

/** An item without its key attributes. */
export function withoutKey(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest;
}
