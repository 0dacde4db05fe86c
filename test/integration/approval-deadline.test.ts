import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { startLocalSns, type LocalSns, type PublishedMessage } from '../../local/sns-endpoint.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, resetClients } from '../../adapters/aws-clients.js';
import { resetApprovalKey } from '../../adapters/approval-links.js';
import { parseInput } from '../../core/input-schema.js';
import { runContext } from '../../core/run-context.js';
import { handler as requestApproval } from '../../lambdas/request-approval/index.js';
import { localTable } from '../support/dynamodb.js';
import { TEST_KEY_HEX } from '../support/approvals.js';

/**
 * An approval never outlives the task that waits for it: its deadline (and its link's expiry) counts from when
 * Step Functions entered "Ask operator" ($$.State.EnteredTime, https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html),
 * not from request-approval's clock, which starts later (a cold start, the evidence reads).
 */
let dynamodb: LocalDynamoDb;
let sns: LocalSns;
const published: PublishedMessage[] = [];
const store = () => new FleetStore(documentClient(), 'fleet-upgrade-deadline');

beforeAll(async () => {
  dynamodb = await localTable('fleet-upgrade-deadline');
  sns = await startLocalSns((message) => published.push(message));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SNS: sns.endpoint,
    TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:fleet-upgrade-test',
    APPROVAL_URL: 'http://127.0.0.1:9/approval',
    APPROVAL_KEY: TEST_KEY_HEX,
  });
  resetClients();
  resetApprovalKey();
});
afterAll(async () => {
  await sns?.close();
  await dynamodb?.stop();
});

describe('the approval deadline', () => {
  it("is the task's own: entered time plus the approval timeout, and the link expires no later", async () => {
    const run = runContext(
      parseInput({ cluster: 'deadline', targetVersion: '3.1.0', nodes: [{ id: 'dea-1', roles: ['dea'] }], approval: { timeoutMinutes: 5 } }),
      'deadline-run',
      '2026-11-24T10:00:00.000Z',
    );
    // Step Functions entered the state 90 s before the function got to ask.
    const enteredAt = new Date(Date.now() - 90_000).toISOString();
    const asked = (await requestApproval({ action: 'ask', taskToken: 'token-deadline', node: { id: 'dea-1' }, run, failedStep: 'upgrade', enteredAt })) as {
      asked: string;
    };
    const deadline = Date.parse(enteredAt) + 300_000;
    const approval = await store().getApproval(asked.asked);
    expect(Date.parse(approval?.expiresAt ?? '')).toBe(deadline);
    const link = new URL(published.find((m) => m.attributes.approvalId === asked.asked)?.attributes.link ?? '');
    expect(Number(link.searchParams.get('exp')) * 1000).toBeLessThanOrEqual(deadline);
    // The link's expiry is recorded: the reminder sweep sends a fresh one before it lapses (a wait past 7 days).
    expect(approval?.linkExpiresAt).toBe(Number(link.searchParams.get('exp')));
    expect(approval?.lastNotifiedAt).toBe(approval?.createdAt);
  });
});
