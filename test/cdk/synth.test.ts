import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);

describe('cdk synth', () => {
  it('synthesizes offline with every Lambda bundled by esbuild', async () => {
    mkdirSync('.tmp', { recursive: true });
    const out = mkdtempSync(join('.tmp', 'synth-'));
    await exec(process.execPath, ['node_modules/aws-cdk/bin/cdk', 'synth', '--quiet', '--output', out], {
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_DISABLE_VERSION_CHECK: '1', AWS_EC2_METADATA_DISABLED: 'true' },
      timeout: 170_000,
    });
    const template = JSON.parse(readFileSync(join(out, 'FleetUpgradeStack.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Metadata?: Record<string, string> }> };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['fleet-upgrade:handler']);
    expect(functions).toHaveLength(11);
    for (const f of functions) {
      const asset = join(out, String(f.Metadata?.['aws:asset:path']), 'index.mjs');
      expect(existsSync(asset), asset).toBe(true);
      expect(statSync(asset).size).toBeLessThan(3_000_000);
    }
  });
});
