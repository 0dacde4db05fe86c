import { randomBytes, randomUUID } from 'node:crypto';
import type { ApprovalRequest } from '../../core/approval.js';
import { approvalLink, resetApprovalKey } from '../../adapters/approval-links.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, resetClients } from '../../adapters/aws-clients.js';
import { LocalTaskTokens } from '../../local/task-tokens.js';
import { startApprovalServer, type LocalApprovalServer } from '../../local/approval-server.js';
import { localTable } from './dynamodb.js';

/** A signing key for tests (what APPROVAL_KEY holds, in hex). */
export const TEST_KEY_HEX = randomBytes(32).toString('hex');

/** The evidence of a failed step, as request-approval would record it. */
export function approvalRequest(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const now = Date.now();
  return {
    approvalId: randomUUID(),
    runId: 'demo-3.1.0-20261125T020000',
    cluster: 'demo',
    nodeId: 'dea-2',
    roles: ['dea', 'stager'],
    failedStep: 'post-upgrade-validation',
    exitCode: 3,
    outputTail: 'checking service…\n<script>alert("x")</script> health check failed: 503 & more',
    from: '3.0.0',
    to: '3.1.0',
    backupId: 'backup-demo-3.1.0-20261125T020000',
    upgraded: ['dea-1'],
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 3_600_000).toISOString(),
    onTimeout: 'rollback',
    ...overrides,
  };
}

/**
 * Opens an approval the way the request-approval task does: a task token waiting in the local
 * Step Functions endpoint, the request stored with it, and the signed link for `baseUrl`.
 */
export async function openApproval(
  store: FleetStore,
  tokens: LocalTaskTokens,
  baseUrl: string,
  overrides: Partial<ApprovalRequest> = {},
): Promise<{ request: ApprovalRequest; token: string; link: string; exp: number }> {
  const request = approvalRequest(overrides);
  const token = tokens.mint();
  const exp = Math.floor(Date.parse(request.expiresAt) / 1000);
  await store.putApproval(request, token, exp + 86_400);
  return { request, token, link: approvalLink(baseUrl, request.approvalId, exp, Buffer.from(TEST_KEY_HEX, 'hex')), exp };
}

/** What the page tests run against: the local DynamoDB, the local task-token endpoint, the approval server. */
export interface ApprovalPageWorld {
  tokens: LocalTaskTokens;
  server: LocalApprovalServer;
  store(): FleetStore;
  stop(): Promise<void>;
}

/** Starts the page's world and points the handler's clients and key at it (one per test file). */
export async function startApprovalPageWorld(): Promise<ApprovalPageWorld> {
  const tokens = new LocalTaskTokens();
  const [dynamodb, sfnEndpoint] = await Promise.all([localTable(), tokens.start()]);
  process.env.AWS_ENDPOINT_URL_SFN = sfnEndpoint;
  process.env.APPROVAL_KEY = TEST_KEY_HEX;
  // Only read when sign-in is configured (the sign-in tests set APPROVAL_ISSUER).
  process.env.APPROVAL_SESSION_KEY = randomBytes(32).toString('hex');
  resetApprovalKey();
  resetClients();
  const server = await startApprovalServer();
  return {
    tokens,
    server,
    store: () => new FleetStore(documentClient(), 'fleet-upgrade-test'),
    async stop() {
      await server.close();
      await tokens.close();
      await dynamodb.stop();
    },
  };
}
