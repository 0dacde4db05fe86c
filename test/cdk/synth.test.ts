import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TEST_PACKAGE_KEY } from '../support/package-key.js';

const exec = promisify(execFile);
const ENV = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_DISABLE_VERSION_CHECK: '1', AWS_EC2_METADATA_DISABLED: 'true' };
const CDK = 'node_modules/aws-cdk/bin/cdk';
// The PEM's base64 line: `cdk -c` keeps only the first line of a multi-line value.
const KEY_LINE = TEST_PACKAGE_KEY.split('\n')[1] ?? '';

describe('cdk synth', () => {
  it('synthesizes offline with every Lambda bundled by esbuild, and warns that without sign-in a link decides', async () => {
    mkdirSync('.tmp', { recursive: true });
    const out = mkdtempSync(join('.tmp', 'synth-'));
    const { stderr } = await exec(
      process.execPath,
      [CDK, 'synth', '--quiet', '--output', out, '-c', 'artifactBaseUrl=https://artifacts.example.com/app', '-c', `packageSigningPublicKey=${KEY_LINE}`],
      { env: ENV, timeout: 170_000 },
    );
    // Without sign-in the synth says plainly who can decide.
    expect(stderr).toMatch(/approvalIssuer is not set: anyone holding an approval link .* can decide/);
    const template = JSON.parse(readFileSync(join(out, 'FleetUpgradeStack.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
    };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['fleet-upgrade:handler']);
    expect(functions).toHaveLength(12);
    for (const f of functions) {
      const asset = join(out, String(f.Metadata?.['aws:asset:path']), 'index.mjs');
      expect(existsSync(asset), asset).toBe(true);
      expect(statSync(asset).size).toBeLessThan(3_000_000);
    }
  });

  it.each([
    [
      'an http artifactBaseUrl',
      ['-c', 'artifactBaseUrl=http://artifacts.example.com/app', '-c', `packageSigningPublicKey=${KEY_LINE}`],
      /artifactBaseUrl: expected an https:\/\/ URL/,
    ],
    ['no packageSigningPublicKey', ['-c', 'artifactBaseUrl=https://artifacts.example.com/app'], /packageSigningPublicKey: expected the Ed25519 public key/],
    ['no artifactBaseUrl', ['-c', `packageSigningPublicKey=${KEY_LINE}`], /artifactBaseUrl: required: the https:\/\/ URL of your package repository/],
    [
      'sign-in without approvers',
      [
        '-c',
        'artifactBaseUrl=https://artifacts.example.com/app',
        '-c',
        `packageSigningPublicKey=${KEY_LINE}`,
        '-c',
        'approvalIssuer=https://idp.example.com',
        '-c',
        'approvalClientId=page',
        '-c',
        'approvalClientSecretArn=arn:aws:secretsmanager:eu-west-1:123456789012:secret:fu-client-AbCdEf',
      ],
      /approvers: required with approvalIssuer/,
    ],
    // Each refusal is a cdk process that fails before bundling: run them side by side.
  ])('refuses %s, naming the setting', { concurrent: true }, async (_what, context, message) => {
    const out = mkdtempSync(join('.tmp', 'synth-refused-'));
    const refused = exec(process.execPath, [CDK, 'synth', '--quiet', '--output', out, ...context], { env: ENV, timeout: 170_000 });
    await expect(refused).rejects.toMatchObject({ stderr: expect.stringMatching(message) });
  });
});
