import { call, errorAnswer, errorType } from './answers.js';
import type { Answer, Engine } from './engine.js';
import type { ItemLocks } from './item-locks.js';

/** The single-item writes that take ReturnValuesOnConditionCheckFailure. */
export const CONDITIONAL_WRITES = ['PutItem', 'UpdateItem', 'DeleteItem'] as const;
export type ConditionalWrite = (typeof CONDITIONAL_WRITES)[number];

interface WriteRequest {
  TableName?: unknown;
  Item?: unknown;
  Key?: unknown;
  ReturnValuesOnConditionCheckFailure?: unknown;
}

/**
 * ReturnValuesOnConditionCheckFailure, which dynalite accepts and ignores: with ALL_OLD, DynamoDB's
 * ConditionalCheckFailedException carries the item the condition failed on (`Item`; none when there was no
 * item), and only NONE and ALL_OLD are valid values. The lock, its renewal and the command claim read it.
 *
 *   write ──(engine: condition failed)──► read the item (consistent) ──► the failure + Item
 *     └──────────── one step: no other write to this item passes between (ItemLocks) ────────────┘
 */
export class OldItemOnFailure {
  constructor(
    private readonly engine: Engine,
    private readonly locks: ItemLocks,
  ) {}

  /** Carries out `write` (the request as the client sent it) and completes its failure as DynamoDB does. */
  async write(operation: ConditionalWrite, request: WriteRequest, write: () => Promise<Answer>): Promise<Answer> {
    const wanted = request.ReturnValuesOnConditionCheckFailure;
    if (wanted !== undefined && wanted !== 'NONE' && wanted !== 'ALL_OLD') {
      return errorAnswer(
        'ValidationException',
        `1 validation error detected: Value '${String(wanted)}' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]`,
      );
    }
    const item = await this.locks.keyOf(request.TableName, operation === 'PutItem' ? request.Item : request.Key);
    if (item === undefined) return write();
    return this.locks.run([item.name], async () => {
      const answer = await write();
      if (wanted !== 'ALL_OLD' || errorType(answer) !== 'ConditionalCheckFailedException') return answer;
      const read = await call(this.engine, 'GetItem', { TableName: request.TableName, Key: item.key, ConsistentRead: true });
      if (!read.ok || read.body.Item === undefined) return answer;
      const body = JSON.stringify({ ...(JSON.parse(answer.body) as object), Item: read.body.Item });
      // The body changed: its checksum no longer holds (DynamoDB sends none with an error either).
      const { 'x-amz-crc32': _crc, 'content-length': _length, ...headers } = answer.headers;
      return { status: answer.status, headers, body };
    });
  }
}
