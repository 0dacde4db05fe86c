import { ConditionalCheckFailedException, type AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The item a refused write found, as the exception carries it: in DynamoDB's attribute-value form (the document
 * client does not convert errors), and only when the write asked for `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`.
 */
export type RefusedOn = Record<string, AttributeValue> | undefined;

/**
 * The conditional write's result, or what `refused` makes of the item it found when DynamoDB refused the write
 * because its condition was false: for a store that is an expected outcome, never an error. Any other error is thrown.
 */
export async function ifConditionFails<T, U>(
  write: Promise<T>,
  refused: (old: RefusedOn, error: ConditionalCheckFailedException) => U | Promise<U>,
): Promise<T | U> {
  try {
    return await write;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return refused(error.Item, error);
    throw error;
  }
}

/** True when the conditional write was made, false when its condition was false. */
export function written(write: Promise<unknown>): Promise<boolean> {
  return ifConditionFails(
    write.then(() => true),
    () => false,
  );
}
