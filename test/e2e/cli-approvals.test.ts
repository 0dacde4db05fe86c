import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb/start.js';
import { LocalTaskTokens } from '../../local/task-tokens.js';
import { freePort } from '../../local/free-port.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient } from '../../adapters/aws-clients.js';
import { localTable } from '../support/dynamodb.js';
import { openApproval } from '../support/approvals.js';

const exec = promisify(execFile);
let dynamodb: LocalDynamoDb;
let env: NodeJS.ProcessEnv;
const tokens = new LocalTaskTokens();
const store = () => new FleetStore(documentClient(), 'fleet-upgrade-test');
const BASE = 'https://approvals.invalid/approval';

/** Runs the CLI as an operator does, against the local DynamoDB and the local Step Functions token endpoint. */
async function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', 'bin/fleet-upgrade.ts', ...args], {
      timeout: 60_000,
      env: { ...env, ...extraEnv },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  const [table, sfnEndpoint, closedPort] = await Promise.all([localTable(), tokens.start(), freePort()]);
  dynamodb = table;
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TABLE_NAME: 'fleet-upgrade-test',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ENDPOINT_URL_SFN: sfnEndpoint,
    // Nothing listens here: STS is unreachable, so the OS user is recorded (and nothing leaves loopback).
    AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${closedPort}`,
    AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${closedPort}`,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
});

afterAll(async () => {
  await tokens.close();
  await dynamodb?.stop();
});

describe('fleet-upgrade approvals / decide (CLI, the local DynamoDB, local Step Functions tokens)', () => {
  it('refuses bad usage with exit 2 and touches nothing', async () => {
    const [noTable, badTable, badDecision, badId, empty] = await Promise.all([
      cli(['approvals'], { TABLE_NAME: '' }),
      cli(['approvals', '--table', 'no such table']),
      cli(['decide', 'abcdefgh-1234', 'reboot']),
      cli(['decide', '../etc/passwd', 'rollback']),
      cli(['approvals', '--table', 'fleet-upgrade-test'], { TABLE_NAME: '' }),
    ]);
    // Without --table or TABLE_NAME the table comes from the stack's outputs; AWS cannot be asked here: exit 3, not bad input.
    expect(noTable.code).toBe(3);
    expect(noTable.stderr).toContain('cannot read the outputs of stack FleetUpgradeStack');
    expect(noTable.stderr).toMatch(/check your AWS credentials and region|is `fleet-upgrade local serve` running/);
    expect(badTable.code).toBe(2);
    expect(badTable.stderr).toContain('--table: expected a DynamoDB table name, got "no such table"');
    expect(badDecision.code).toBe(2);
    expect(badDecision.stderr).toContain("value 'reboot' is invalid for argument 'decision'. Allowed choices are rollback, retry, skip, abort, continue.");
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('<approval-id>: expected lowercase letters, digits and dashes (8 to 64), got "../etc/passwd"');
    expect(empty).toMatchObject({ code: 0, stdout: 'No approval is waiting.\n' });
  });

  it('lists pending approvals without their task tokens, decides one once, and says why it is not open', async () => {
    const first = await openApproval(store(), tokens, BASE, { nodeId: 'dea-1', createdAt: '2026-11-25T01:00:00.000Z' });
    const second = await openApproval(store(), tokens, BASE, {
      nodeId: 'router-1',
      roles: ['router'],
      failedStep: 'restart',
      createdAt: '2026-11-25T01:05:00.000Z',
    });
    const expired = await openApproval(store(), tokens, BASE, {
      nodeId: 'dea-9',
      createdAt: '2026-11-25T01:10:00.000Z',
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });

    const [json, text] = await Promise.all([cli(['approvals', '--json']), cli(['approvals'])]);
    expect(json.code, json.stderr).toBe(0);
    const listed = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(listed.map((a) => a.nodeId)).toEqual(['dea-1', 'router-1', 'dea-9']);
    expect(listed[1]).toMatchObject({
      approvalId: second.request.approvalId,
      cluster: 'demo',
      failedStep: 'restart',
      roles: ['router'],
      exitCode: 3,
      from: '3.0.0',
      to: '3.1.0',
    });
    for (const t of [first.token, second.token]) expect(json.stdout + text.stdout).not.toContain(t);
    expect(listed[0]).not.toHaveProperty('taskToken');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      [
        `${first.request.approvalId}`,
        `  cluster demo, run ${first.request.runId}`,
        `  node dea-1 (dea, stager) failed at post-upgrade-validation, exit code 3; 3.0.0 → 3.1.0; backup backup-demo-3.1.0-20261125T020000`,
      ].join('\n'),
    );
    expect(text.stdout).toContain(`decide: fleet-upgrade decide ${second.request.approvalId} rollback|retry|skip|abort`);

    const output = tokens.wait(first.token);
    const decided = await cli(['decide', first.request.approvalId, 'retry']);
    expect(decided.code, decided.stderr).toBe(0);
    const who = `${userInfo().username}@`;
    expect(decided.stdout).toContain(`Decided retry for node dea-1 of run ${first.request.runId} (cluster demo), by ${who}`);
    expect(await output).toMatchObject({
      decision: 'retry',
      byTimeout: false,
      decidedBy: expect.stringMatching(new RegExp(`^${who}.+ \\(fleet-upgrade decide, no AWS identity\\)$`)),
    });
    const record = await store().getApproval(first.request.approvalId);
    expect(record).toMatchObject({ state: 'DECIDED', decision: 'retry' });

    const [again, unknown, late, after] = await Promise.all([
      cli(['decide', first.request.approvalId, 'abort']),
      cli(['decide', 'no-such-approval', 'rollback']),
      cli(['decide', expired.request.approvalId, 'skip']),
      cli(['approvals', '--json']),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`approval ${first.request.approvalId} was already decided: retry by ${who}`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('approval no-such-approval does not exist');
    expect(late.code).toBe(1);
    expect(late.stderr).toContain(`approval ${expired.request.approvalId} expired at ${expired.request.expiresAt}`);
    // Nothing changed by the refusals: the first keeps its decision, the expired one still waits for its timeout.
    expect(await store().getApproval(first.request.approvalId)).toEqual(record);
    expect((await store().getApproval(expired.request.approvalId))?.state).toBe('PENDING');
    expect((JSON.parse(after.stdout) as { nodeId: string }[]).map((a) => a.nodeId)).toEqual(['router-1', 'dea-9']);
  });

  it('says "too late" with exit 1 when the task stopped waiting before the decision reached it, and records the attempt', async () => {
    const { request, token } = await openApproval(store(), tokens, BASE, { nodeId: 'dea-7', onTimeout: 'abort' });
    tokens.expire(token);
    const late = await cli(['decide', request.approvalId, 'skip']);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain(`approval ${request.approvalId}: too late: the run already applied abort`);
    expect(await store().getApproval(request.approvalId)).toMatchObject({
      decision: 'abort',
      byTimeout: true,
      lateAttempt: { decision: 'skip', by: expect.stringContaining(`${userInfo().username}@`) },
    });
  });
});
