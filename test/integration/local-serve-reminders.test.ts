import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
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
  runtime = await LocalRuntime.start({
    cluster: {
      cluster: 'remind',
      nodes: [
        { id: 'dea-1', roles: ['dea'], version: '3.0.0' },
        { id: 'core-1', roles: ['primary'], version: '3.0.0' },
      ],
    },
    versions: ['3.1.0'],
    workdir: join(dir, 'work'),
    approverEmails: ['ops@example.com'],
  });
}, 90_000);

afterAll(async () => {
  await runtime?.close();
}, 60_000);

describe('local serve', () => {
  it('reminds the approvers of a waiting approval on its schedule, once per reminder', async () => {
    const now = Date.now();
    const request = approvalRequest({
      cluster: 'remind',
      nodeId: 'dea-1',
      createdAt: new Date(now - 2000).toISOString(),
      expiresAt: new Date(now + 6000).toISOString(),
    });
    const store = new FleetStore(documentClient(), runtime.stack.tableName);
    await store.putApproval(request, 'token-local-serve', Math.floor(now / 1000) + 86_400, { expiresAt: Math.floor((now + 6000) / 1000) });
    const reminders = () =>
      runtime.stack.sns.published.filter((m) => m.attributes.approvalId === request.approvalId && m.attributes.kind === 'approval-reminder');
    // An 8-second wait, 2 s of it gone: halfway in 2 s, the last reminder in 4 s (2 s before the deadline).
    for (let waited = 0; reminders().length < 2 && waited < 8000; waited += 200) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reminders().map((m) => m.attributes.reminder)).toEqual(['halfway', 'final']);
    // The approval page is served on the runtime's port, as API Gateway serves it: the reminder's fresh link opens it.
    const link = reminders()[1]?.attributes.link ?? '';
    expect(link.startsWith(`${runtime.endpoint}/approval?id=${request.approvalId}&exp=`)).toBe(true);
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('No sign-in is configured:</strong> anyone holding this link can decide');
    await expect(store.getApproval(request.approvalId)).resolves.toMatchObject({ reminded: ['halfway', 'final'] });
  }, 30_000);
});

describe('fleet-upgrade doctor against local serve', () => {
  let out = '';
  afterEach(() => vi.restoreAllMocks());

  it("checks every item the way it would in AWS: the template's roles judged by the same IAM evaluator", async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    // The one subscription is pending, as SNS leaves it until confirmed: doctor says so and exits 1.
    expect(await main(['--endpoint', runtime.endpoint, 'doctor', '--cluster', 'remind'])).toBe(1);
    for (const line of [
      'ok       credentials: arn:aws:iam::123456789012:user/local-operator (account 123456789012, region us-east-1)',
      'ok       stack outputs:',
      'WARN     approval sign-in: not configured: anyone holding an approval link can decide',
      'ok       SSM document: fleet-upgrade-runbook: Active, version 1',
      'ok       node dea-1: roles dea; SSM agent Online',
      'ok       node core-1: roles primary; SSM agent Online',
      'PROBLEM  approver subscriptions: ops@example.com pending',
      'ok       permission RunStepRole ssm:SendCommand: allowed on arn:aws:ec2:us-east-1:123456789012:instance/dea-1',
      'ok       permission ApprovalPageRole states:SendTaskSuccess: allowed',
    ])
      expect(out).toContain(line);
    expect(out).not.toMatch(/^(PROBLEM|skipped)\s+(permission|stack|nodes)/m);
  }, 30_000);
});

describe('plan --cluster NAME against local serve', () => {
  it('finds the nodes by their cluster tag, as the run does, and plans them', async () => {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
    let err = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
    try {
      expect(await main(['--endpoint', runtime.endpoint, 'plan', '--cluster', 'remind', '--target-version', '3.1.0', '--json']), err).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
    const plan = JSON.parse(out) as { cluster: string; order: string[]; coreNode: string };
    expect(plan).toMatchObject({ cluster: 'remind', coreNode: 'core-1' });
    expect([...plan.order].sort()).toEqual(['core-1', 'dea-1']);
  }, 30_000);
});
