import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

/** (e) bundle sizes and `cdk synth` time, with the offline environment. */
export async function synth(root: string, work: string) {
  process.stderr.write('(e) cdk synth time and Lambda bundle sizes\n');
  const out = join(work, 'cdk.out');
  rmSync(out, { recursive: true, force: true });
  const started = performance.now();
  // Any well-formed key: the synth refuses to run without one.
  const key = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  await promisify(execFile)(
    'npx',
    ['cdk', 'synth', '--quiet', '-o', out, '-c', 'artifactBaseUrl=https://artifacts.example.com/app', '-c', `packageSigningPublicKey=${key}`],
    {
      cwd: root,
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_DISABLE_VERSION_CHECK: '1', AWS_EC2_METADATA_DISABLED: 'true' },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
  const template = JSON.parse(readFileSync(join(out, 'FleetUpgradeStack.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
  };
  const bundles: Record<string, number> = {};
  for (const resource of Object.values(template.Resources)) {
    const handler = resource.Metadata?.['fleet-upgrade:handler'];
    const asset = resource.Metadata?.['aws:asset:path'];
    if (resource.Type !== 'AWS::Lambda::Function' || !handler || !asset) continue;
    const dir = join(out, asset);
    bundles[handler] = readdirSync(dir)
      .filter((f) => !f.endsWith('.map'))
      .reduce((a, f) => a + statSync(join(dir, f)).size, 0);
  }
  return { synthSeconds: seconds, bundleBytes: bundles };
}
