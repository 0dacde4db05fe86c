import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { SFNClient, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { decideApproval, ApprovalNotOpenError } from '../../adapters/approvals.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient } from '../../adapters/aws-clients.js';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { localTable } from '../support/dynamodb.js';
import { approvalRequest } from '../support/approvals.js';

/** decideApproval against the local DynamoDB, with Step Functions mocked to fail or answer (its edge only). */
let dynamodb: LocalDynamoDb;
const sfnMock = mockClient(SFNClient);
const store = () => new FleetStore(documentClient(), 'fleet-upgrade-decide');

beforeAll(async () => {
  dynamodb = await localTable('fleet-upgrade-decide');
});

afterAll(async () => {
  sfnMock.restore();
  await dynamodb?.stop();
});

describe('decideApproval', () => {
  it('reopens the approval when Step Functions does not take the answer, so the decision is not lost', async () => {
    const request = approvalRequest();
    await store().putApproval(request, 'token-1', Math.floor(Date.now() / 1000) + 3600);
    sfnMock.on(SendTaskSuccessCommand).rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const sfn = new SFNClient({ region: 'us-east-1' });
    await expect(decideApproval({ store: store(), sfn }, request.approvalId, 'retry', 'ops@example.com', new Date())).rejects.toThrow('Rate exceeded');
    await expect(store().getApproval(request.approvalId)).resolves.toMatchObject({ state: 'PENDING' });
    expect((await store().pendingApprovals()).map((a) => a.approvalId)).toContain(request.approvalId);

    // The next attempt goes through, once.
    sfnMock.on(SendTaskSuccessCommand).resolves({});
    await expect(decideApproval({ store: store(), sfn }, request.approvalId, 'retry', 'ops@example.com', new Date())).resolves.toMatchObject({
      decision: 'retry',
    });
    const sent = JSON.parse(String(sfnMock.commandCalls(SendTaskSuccessCommand).at(-1)?.args[0].input.output)) as Record<string, unknown>;
    expect(sent).toMatchObject({
      decision: 'retry',
      decidedBy: 'ops@example.com',
      byTimeout: false,
      approvalId: request.approvalId,
      failedStep: 'post-upgrade-validation',
    });
    await expect(decideApproval({ store: store(), sfn }, request.approvalId, 'abort', 'someone else', new Date())).rejects.toBeInstanceOf(ApprovalNotOpenError);
  });
});
