import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterFile } from '../../local/cluster-file.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { rehearse, type RehearsalResult } from '../../local/rehearsal.js';
import { stopService } from '../../local/sandbox.js';
import { readTemplateFile, synthesizeTemplate, type CfnTemplate } from '../../local/template.js';
import { InputValidationError } from '../../core/errors.js';
import { invariantViolations } from '../support/invariants.js';

/**
 * A green rehearsal predicts a green AWS run only if the rehearsal enforces IAM as AWS does: every call a
 * function makes is judged against its role in the template that is rehearsed (`--template`).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 */
const cluster = (name: string): ClusterFile => ({
  cluster: `iam-${name}`,
  nodes: [
    { id: 'dea-1', roles: ['dea'], version: '3.0.0', state: { droplets: 1 } },
    { id: 'core-1', roles: ['primary'], version: '3.0.0', state: { apps: ['a'] } },
  ],
});

let dynamodb: LocalDynamoDb;
let dir: string;
const roots: string[] = [];
beforeAll(async () => {
  dynamodb = await startLocalDynamoDb();
  await mkdir('.tmp', { recursive: true });
  dir = await mkdtemp(join('.tmp', 'e2e-iam-'));
});
afterAll(async () => {
  await Promise.all(roots.map((r) => stopService(r)));
  await dynamodb?.stop();
});

async function run(name: string, template: CfnTemplate, progress: string[]): Promise<RehearsalResult> {
  const file = join(dir, `${name}.template.json`);
  await writeFile(file, JSON.stringify(template));
  const c = cluster(name);
  const r = await rehearse({
    cluster: c,
    targetVersion: '3.1.0',
    workdir: join(dir, name),
    dynamodb,
    keepServices: true,
    template: file,
    progress: (l) => progress.push(l),
  });
  roots.push(...r.nodeRoots.values());
  // A completion command-finished may not deliver leaves its command waiting, as it would in AWS: that is the defect shown.
  expect((await invariantViolations(r, c)).filter((v) => !/^command .* still PENDING$/.test(v))).toEqual([]);
  return r;
}

describe('the rehearsal enforces IAM from the template it runs', () => {
  it('the synthesized template: SUCCEEDED, every call checked, none denied', async () => {
    const r = await run('good', await synthesizeTemplate(), []);
    expect(r.summary.status).toBe('SUCCEEDED');
    expect(r.summary.execution.iam.checked).toBeGreaterThan(100);
    expect(r.summary.execution.iam.denied).toBe(0);
    // Reported for the bench: the Maps' gathered results were counted (children end with {}, so they stay small).
    expect(r.summary.execution.maxMapResultBytes).toBeGreaterThan(2);
    expect(r.summary.execution.maxMapResultBytes).toBeLessThan(r.summary.execution.maxPayloadBytes);
  });

  it('without states:SendTaskSuccess for command-finished: the run stops, naming AccessDenied, the function and the action', async () => {
    const template = await synthesizeTemplate();
    let removed = 0;
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::IAM::Policy' || !id.startsWith('CommandFinishedTaskAnswers')) continue;
      for (const statement of (resource.Properties?.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement) {
        statement.Action = [statement.Action].flat().filter((a) => a !== 'states:SendTaskSuccess' || (removed++, false));
      }
    }
    expect(removed).toBe(1);
    const progress: string[] = [];
    const r = await run('denied', template, progress);
    expect(r.summary.status).not.toBe('SUCCEEDED');
    expect(r.summary.execution.iam.denied).toBeGreaterThan(0);
    expect(r.summary.failure?.message).toMatch(/AccessDeniedException: command-finished may not states:SendTaskSuccess/);
    expect(progress.join('\n')).toMatch(
      /IAM: AccessDeniedException — command-finished \(CommandFinished\w+\) may not states:SendTaskSuccess on arn:aws:states:[^ ]+:stateMachine:FleetUpgrade\/CheckNodes/,
    );
  });

  it('refuses a template without the state machine or the SSM document, naming what is missing', async () => {
    const template = await synthesizeTemplate();
    for (const [id, resource] of Object.entries(template.Resources)) if (resource.Type === 'AWS::SSM::Document') delete template.Resources[id];
    const file = join(dir, 'no-document.template.json');
    await writeFile(file, JSON.stringify(template));
    await expect(readTemplateFile(file)).rejects.toThrow(InputValidationError);
    await expect(readTemplateFile(file)).rejects.toThrow(/template: .* must hold exactly one AWS::SSM::Document \(the SSM document\); it holds 0/);
    await expect(readTemplateFile(join(dir, 'missing.json'))).rejects.toThrow(/template: expected a synthesized CloudFormation template/);
  });
});
