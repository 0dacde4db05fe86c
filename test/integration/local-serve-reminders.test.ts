import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../local/runtime.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient } from '../../adapters/aws-clients.js';
import { approvalRequest } from '../support/approvals.js';

/**
 * `local serve` runs the template's schedule rule as the stack does (every second locally): an approval waiting
 * in its DynamoDB is reminded on its local SNS topic.
 */
let runtime: LocalRuntime;

beforeAll(async () => {
  await mkdir('.tmp', { recursive: true });
  const dir = await mkdtemp(join('.tmp', 'local-serve-reminders-'));
  runtime = await LocalRuntime.start({ cluster: { cluster: 'remind', nodes: [{ id: 'dea-1', roles: ['dea'], version: '3.0.0' }] }, versions: ['3.1.0'], workdir: join(dir, 'work') });
}, 90_000);

afterAll(async () => {
  await runtime?.close();
}, 60_000);

describe('local serve', () => {
  it('reminds the approvers of a waiting approval on its schedule, once per reminder', async () => {
    const now = Date.now();
    const request = approvalRequest({ cluster: 'remind', nodeId: 'dea-1', createdAt: new Date(now - 2000).toISOString(), expiresAt: new Date(now + 6000).toISOString() });
    const store = new FleetStore(documentClient(), runtime.stack.tableName);
    await store.putApproval(request, 'token-local-serve', Math.floor(now / 1000) + 86_400, { expiresAt: Math.floor((now + 6000) / 1000) });
    const reminders = () => runtime.stack.sns.published.filter((m) => m.attributes.approvalId === request.approvalId && m.attributes.kind === 'approval-reminder');
    // An 8-second wait, 2 s of it gone: halfway in 2 s, the last reminder in 4 s (2 s before the deadline).
    for (let waited = 0; reminders().length < 2 && waited < 8000; waited += 200) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reminders().map((m) => m.attributes.reminder)).toEqual(['halfway', 'final']);
    // No approval page is served locally: the reminder says to decide from a terminal, and carries no link.
    expect(reminders()[0]?.message).toContain(`Decide from a terminal: fleet-upgrade decide ${request.approvalId} rollback|retry|skip|abort`);
    expect(reminders()[0]?.attributes.link).toBeUndefined();
    await expect(store.getApproval(request.approvalId)).resolves.toMatchObject({ reminded: ['halfway', 'final'] });
  }, 30_000);
});
