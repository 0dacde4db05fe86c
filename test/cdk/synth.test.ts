import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { TEST_PACKAGE_KEY } from '../support/package-key.js';
import { FleetUpgradeStack } from '../../lib/fleet-upgrade-stack.js';
import { stackPropsFromContext } from '../../lib/app-context.js';

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

  it('refuses to synthesize without artifactBaseUrl, naming the setting (a cdk process, as an operator runs it)', async () => {
    const out = mkdtempSync(join('.tmp', 'synth-refused-'));
    const refused = exec(process.execPath, [CDK, 'synth', '--quiet', '--output', out, '-c', `packageSigningPublicKey=${KEY_LINE}`], {
      env: ENV,
      timeout: 170_000,
    });
    await expect(refused).rejects.toMatchObject({ stderr: expect.stringMatching(/artifactBaseUrl: required: the https:\/\/ URL of your package repository/) });
  });

  // The app's own reading of the context, in this process: the same code bin/app.ts runs, without a cdk process each.
  it.each([
    [
      'an http artifactBaseUrl',
      { artifactBaseUrl: 'http://artifacts.example.com/app', packageSigningPublicKey: KEY_LINE },
      /artifactBaseUrl: expected an https:\/\/ URL/,
    ],
    ['no packageSigningPublicKey', { artifactBaseUrl: 'https://artifacts.example.com/app' }, /packageSigningPublicKey: expected the Ed25519 public key/],
    [
      'sign-in without approvers',
      {
        artifactBaseUrl: 'https://artifacts.example.com/app',
        packageSigningPublicKey: KEY_LINE,
        approvalIssuer: 'https://idp.example.com',
        approvalClientId: 'page',
        approvalClientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:fu-client-AbCdEf',
      },
      /approvers: required with approvalIssuer/,
    ],
  ])('refuses %s, naming the setting', (_what, context: Record<string, string>, message) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(
      () =>
        new FleetUpgradeStack(
          app,
          'FleetUpgradeStack',
          stackPropsFromContext((key) => context[key]),
        ),
    ).toThrow(message);
  });
});
