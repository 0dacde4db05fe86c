import { AwsJsonError } from './json-protocol.js';

/**
 * A page of a Step Functions list (ListStateMachines, ListMapRuns): `maxResults` 0 or absent means 100, at most 1000;
 * `nextToken` is where the next page starts.
 */
export function page<T>(items: readonly T[], r: Record<string, unknown>): { items: T[]; nextToken?: string } {
  const maxResults = Number(r.maxResults ?? 0);
  if (!Number.isInteger(maxResults) || maxResults < 0 || maxResults > 1000)
    throw new AwsJsonError(
      'ValidationException',
      `1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must be between 0 and 1000`,
    );
  const max = maxResults === 0 ? 100 : maxResults;
  const from = typeof r.nextToken === 'string' ? Number(r.nextToken) : 0;
  if (!Number.isInteger(from) || from < 0 || from > items.length) throw new AwsJsonError('InvalidToken', `Invalid Token: '${String(r.nextToken)}'`);
  return { items: items.slice(from, from + max), ...(from + max < items.length ? { nextToken: String(from + max) } : {}) };
}
