import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { faultCases, runCase } from '../faults/matrix.js';

/**
 * A representative slice of the fault matrix (`npm run test:faults` runs all of it): every fault kind and
 * every decision at least once, on nodes of different roles. Two test files take half each, so the slice's
 * rehearsals spread over the test workers.
 */
export const FAULT_SLICE = [
  'dea-1 upgrade offline retry',
  'controller-1 backup hangs rollback',
  'router-1 restart lambda-throws skip',
  'base-1 post-upgrade-validation fails abort',
  'core-1 rollback fails-once in-rollback rollback',
  'mysql-1 download stray-event',
  'core-1 maintenance-off fails',
  'core-1 download checksum',
  'dea-1 upgrade fails only skip',
];

/** Runs these cases of the slice, each checked against every invariant, on one local DynamoDB. */
export function describeFaultSlice(title: string, ids: readonly string[]): void {
  let dynamodb: LocalDynamoDb;
  beforeAll(async () => {
    dynamodb = await startLocalDynamoDb();
  });
  afterAll(async () => {
    await dynamodb?.stop();
  });
  describe(title, () => {
    const cases = faultCases().filter((c) => ids.includes(c.id));
    it('names every case it runs', () => {
      expect(cases.map((c) => c.id).sort()).toEqual([...ids].sort());
    });
    for (const c of cases) {
      it(`${c.id} → ${c.expectedStatus}, every invariant held`, async () => {
        const r = await runCase(c, dynamodb);
        expect({ status: r.status, violations: r.violations, error: r.status === 'ERROR' ? r.error : undefined }).toEqual({
          status: c.expectedStatus,
          violations: [],
          error: undefined,
        });
      });
    }
  });
}
