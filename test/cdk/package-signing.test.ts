import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FleetUpgradeStack, type FleetUpgradeStackProps } from '../../lib/fleet-upgrade-stack.js';
import { TEST_PACKAGE_KEY } from '../support/package-key.js';

type DocumentContent = { parameters: Record<string, { allowedPattern?: string; default?: string }>; mainSteps: { inputs: { runCommand: string[] } }[] };

beforeAll(() => mkdirSync('.tmp', { recursive: true }));

function synth(props: Partial<FleetUpgradeStackProps>): DocumentContent {
  const app = new App({ outdir: mkdtempSync(join('.tmp', 'cdk-signing-')), context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new FleetUpgradeStack(app, 'Signing', {
    artifactBaseUrl: 'https://artifacts.example.com/app',
    packageSigningPublicKey: TEST_PACKAGE_KEY,
    ...props,
  });
  const doc = Object.values(Template.fromStack(stack).findResources('AWS::SSM::Document'))[0] as { Properties: { Content: DocumentContent } };
  return doc.Properties.Content;
}

const derOf = (pem: string) => Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64').toString('base64');

describe('authentic packages: what the stack accepts', () => {
  it.each([
    'http://artifacts.example.com/app',
    'ftp://artifacts.example.com/app',
    'http://10.0.0.5/app',
    'https://user:pw@artifacts.example.com/app',
    'https://artifacts.example.com/app?x=1',
  ])('refuses artifactBaseUrl %s, naming the setting and saying https', (url) => {
    expect(() => synth({ artifactBaseUrl: url })).toThrow(/^artifactBaseUrl: expected an https:\/\/ URL/);
  });

  it('admits plain http only on loopback, where the rehearsal serves its packages, and says so', () => {
    expect(() => synth({ artifactBaseUrl: 'http://artifacts.example.com/app' })).toThrow(
      /only for 127\.0\.0\.1 or localhost.*a real node has no repository there/,
    );
    expect(() => synth({ artifactBaseUrl: 'http://127.0.0.1:8080/artifacts' })).not.toThrow();
  });

  it.each([
    ['missing', ''],
    ['neither PEM nor base64', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA'],
    ['a truncated base64 line', 'MCowBQYDK2VwAyEAZcs08ZwwZ8CJk8GDMdo29obS7PORv28Hh92EUQCK'],
    ['a broken PEM', '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n'],
    ['an RSA key', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    ['a private key', generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
  ])('refuses a packageSigningPublicKey that is %s, naming the setting', (_what, pem) => {
    expect(() => synth({ packageSigningPublicKey: pem })).toThrow(/^packageSigningPublicKey: expected the Ed25519 public key that signs packages/);
  });

  it("takes the key as PEM or as the PEM's one base64 line (what `cdk -c` can carry), pinning the same key", () => {
    const line = derOf(TEST_PACKAGE_KEY);
    expect(synth({ packageSigningPublicKey: line }).mainSteps[0]?.inputs.runCommand).toContain(`FU_PACKAGE_KEY='${line}'`);
  });

  it('pins the key in the document itself (no parameter can change it) and holds artifactBaseUrl to https', () => {
    const content = synth({});
    const script = content.mainSteps[0]?.inputs.runCommand ?? [];
    expect(script).toContain(`FU_PACKAGE_KEY='${derOf(TEST_PACKAGE_KEY)}'`);
    expect(script.some((line) => /^export .*\bFU_PACKAGE_KEY\b/.test(line))).toBe(true);
    expect(Object.keys(content.parameters).filter((p) => /key/i.test(p))).toEqual([]);
    const url = new RegExp(content.parameters.artifactBaseUrl?.allowedPattern ?? '');
    expect(url.test('https://artifacts.example.com/app')).toBe(true);
    for (const bad of ['http://artifacts.example.com/app', "https://a.example.com/'$(id)'", 'http://127.0.0.1.evil.example.com/x'])
      expect(url.test(bad), bad).toBe(false);
  });
});
