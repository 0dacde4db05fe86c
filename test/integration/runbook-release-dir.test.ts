import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPackageRepo, type PackageRepo } from '../../local/package-repo.js';
import { createSandbox, inspectSandbox, stopService } from '../../local/sandbox.js';
import { packageKeyDer } from '../../lib/package-key.js';

const RUNBOOK = resolve('runbooks/release-dir');
let repo: PackageRepo;
let base: string;
/** The key the SSM document pins (base64 DER), as the nodes receive it. */
let packageKey: string;
const roots: string[] = [];

interface StepRun {
  code: number;
  stdout: string;
  stderr: string;
  details: Record<string, unknown>;
}

/** Runs one step script the way the SSM document does: bash <dir>/<step>.sh, cwd = $ROOT, environment in. */
function step(root: string, name: string, env: Record<string, string> = {}): Promise<StepRun> {
  return new Promise((done) => {
    execFile(
      'bash',
      [join(RUNBOOK, `${name}.sh`)],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          FLEET_UPGRADE_ROOT: root,
          FU_TARGET_VERSION: '3.1.0',
          FU_ARTIFACT_BASE_URL: repo.url,
          FU_RUN_ID: 'run-1',
          FU_RUNBOOK_VERSION: 'abcdef0123456789',
          FU_PACKAGE_KEY: packageKey,
          HTTPS_PROXY: '',
          ...env,
        },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        const last = stdout.trim().split('\n').pop() ?? '';
        let details: Record<string, unknown>;
        try {
          details = JSON.parse(last) as Record<string, unknown>;
        } catch {
          details = {};
        }
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr, details });
      },
    );
  });
}

async function node(name: string, version = '3.0.0'): Promise<string> {
  const root = resolve(base, name);
  roots.push(root);
  await createSandbox({ root, version, packageDir: join(base, 'packages'), state: { node: name, items: [1, 2, 3] } });
  return root;
}

beforeAll(async () => {
  await mkdir('.tmp', { recursive: true });
  base = resolve(await mkdtemp(join('.tmp', 'runbook-')));
  repo = await startPackageRepo({ dir: join(base, 'packages'), versions: ['3.0.0', '3.1.0', '3.2.0', '3.3.0', '3.4.0'] });
  packageKey = packageKeyDer(repo.publicKey);
  // A version whose manifest lies about the package: the download must refuse it.
  await writeFile(join(base, 'packages', '3.2.0', 'SHA256SUMS'), `${'0'.repeat(64)}  app-3.2.0.tar.gz\n`);
  // A version signed by another key (its manifest matches): only the signature can tell.
  const forged = join(base, 'packages', '3.3.0', 'app-3.3.0.tar.gz');
  await writeFile(`${forged}.sig`, sign(null, await readFile(forged), generateKeyPairSync('ed25519').privateKey));
  // A version served without its signature.
  await rm(join(base, 'packages', '3.4.0', 'app-3.4.0.tar.gz.sig'));
});

afterAll(async () => {
  await Promise.all(roots.map((root) => stopService(root)));
  await repo?.close();
});

describe('release-dir runbook', () => {
  it('takes a node through every step from 3.0.0 to 3.1.0, keeping its state byte for byte', async () => {
    const root = await node('full');
    const stateBefore = await readFile(join(root, 'var/lib/app/state.json'));
    expect(await step(root, 'self-update')).toMatchObject({ code: 0, details: { runbookVersion: 'abcdef0123456789' } });
    expect((await step(root, 'self-update')).code).toBe(3);
    expect(await step(root, 'version-check')).toMatchObject({ code: 0, details: { version: '3.0.0' } });
    expect(await step(root, 'pre-upgrade-validation')).toMatchObject({ code: 0 });
    expect(await step(root, 'download')).toMatchObject({ code: 0, details: { bytes: expect.any(Number) } });
    expect(await step(root, 'download')).toMatchObject({ code: 0, details: { cached: true } });
    expect(await step(root, 'retire')).toMatchObject({ code: 0, details: { drained: true } });
    expect(await step(root, 'backup')).toMatchObject({ code: 0, details: { backupId: 'run-1', files: 1 } });
    expect(await step(root, 'upgrade')).toMatchObject({ code: 0, details: { from: '3.0.0', to: '3.1.0' } });
    expect(await step(root, 'upgrade')).toMatchObject({ code: 0 });
    expect(await step(root, 'restart')).toMatchObject({ code: 0, details: { version: '3.1.0' } });
    expect(await step(root, 'post-upgrade-validation')).toMatchObject({ code: 0, details: { version: '3.1.0' } });
    expect(await inspectSandbox(root)).toMatchObject({ currentLink: 'releases/3.1.0', serviceHealthy: true, heartbeatVersion: '3.1.0' });
    expect(await readFile(join(root, 'var/lib/app/state.json'))).toEqual(stateBefore);
    expect(await step(root, 'version-check')).toMatchObject({ code: 3, details: { version: '3.1.0' } });
  });

  it('refuses a package whose sha256 does not match the manifest and keeps nothing of it', async () => {
    const root = await node('checksum');
    const run = await step(root, 'download', { FU_TARGET_VERSION: '3.2.0' });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('checksum mismatch');
    const dir = join(root, 'var/lib/fleet-upgrade/downloads/3.2.0');
    expect(existsSync(join(dir, 'app-3.2.0.tar.gz.verified'))).toBe(false);
    expect((await readdir(dir)).filter((f) => !f.startsWith('.'))).toEqual([]);
    expect((await step(root, 'upgrade', { FU_TARGET_VERSION: '3.2.0' })).code).toBe(1);
    expect(await inspectSandbox(root)).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
  });

  it('refuses a package signed by another key, though its manifest matches, and changes nothing', async () => {
    const root = await node('forged');
    const run = await step(root, 'download', { FU_TARGET_VERSION: '3.3.0' });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('error: signature check failed for app-3.3.0.tar.gz');
    expect(run.stderr).toContain('not a signature by the pinned package key (packageSigningPublicKey)');
    const dir = join(root, 'var/lib/fleet-upgrade/downloads/3.3.0');
    expect((await readdir(dir)).filter((f) => !f.startsWith('.'))).toEqual([]);
    expect((await step(root, 'upgrade', { FU_TARGET_VERSION: '3.3.0' })).code).toBe(1);
    expect(await inspectSandbox(root)).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
  });

  it('refuses a package served without its signature', async () => {
    const root = await node('unsigned');
    const run = await step(root, 'download', { FU_TARGET_VERSION: '3.4.0' });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('cannot download the signature');
    expect(existsSync(join(root, 'var/lib/fleet-upgrade/downloads/3.4.0/app-3.4.0.tar.gz'))).toBe(false);
  });

  it('verifies a package kept from an earlier download anew when the pinned key changed', async () => {
    const root = await node('new-key');
    expect(await step(root, 'download')).toMatchObject({ code: 0 });
    const otherKey = packageKeyDer(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const run = await step(root, 'download', { FU_PACKAGE_KEY: otherKey });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('signature check failed');
    expect((await step(root, 'upgrade', { FU_PACKAGE_KEY: otherKey })).code).toBe(1);
  });

  it.each([
    ['an http repository', 'refused-http', { FU_ARTIFACT_BASE_URL: 'http://artifacts.example.com/app' }, 'is not an https URL'],
    ['no pinned key', 'refused-no-key', { FU_PACKAGE_KEY: '' }, 'FU_PACKAGE_KEY is not an Ed25519 public key'],
    ['a key with shell syntax', 'refused-shell-key', { FU_PACKAGE_KEY: "MCowBQYDK2VwAyEA'$(id)'" }, 'FU_PACKAGE_KEY is not an Ed25519 public key'],
  ])('refuses %s before downloading anything', async (_what, name, env, message) => {
    const root = await node(name);
    const before = repo.requests.length;
    const run = await step(root, 'download', env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(repo.requests.length).toBe(before);
  });

  it('downloads through HTTPS_PROXY when one is set', async () => {
    const root = await node('proxy');
    const run = await step(root, 'download', { HTTPS_PROXY: 'http://127.0.0.1:9' });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/127\.0\.0\.1.*9|proxy|Could not connect|Failed to connect/i);
  });

  it('rolls back after the switch: previous release current, state restored from the backup, service healthy', async () => {
    const root = await node('rollback');
    const stateBefore = await readFile(join(root, 'var/lib/app/state.json'));
    for (const name of ['download', 'backup', 'upgrade', 'restart']) expect((await step(root, name)).code, name).toBe(0);
    await writeFile(join(root, 'var/lib/app/state.json'), '{"corrupted":true}');
    expect(await step(root, 'rollback')).toMatchObject({ code: 0, details: { version: '3.0.0', restoredBackup: true } });
    expect(await step(root, 'rollback')).toMatchObject({ code: 0, details: { version: '3.0.0' } });
    expect(await inspectSandbox(root)).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true, heartbeatVersion: '3.0.0' });
    expect(await readFile(join(root, 'var/lib/app/state.json'))).toEqual(stateBefore);
  });

  it('a later run stopped before its backup leaves the node at the version the earlier run gave it', async () => {
    const root = await node('stale-previous');
    // run-1 upgraded 3.0.0 → 3.1.0 (previous-version says 3.0.0).
    for (const name of ['download', 'backup', 'upgrade', 'restart']) expect((await step(root, name)).code, name).toBe(0);
    // run-2 (to 3.2.0) is stopped between retire and backup; its rollback must not go back to 3.0.0.
    const later = { FU_RUN_ID: 'run-2', FU_TARGET_VERSION: '3.2.0' };
    expect(await step(root, 'rollback', later)).toMatchObject({ code: 0, details: { version: '3.1.0', restoredBackup: false } });
    expect(await inspectSandbox(root)).toMatchObject({ currentLink: 'releases/3.1.0', serviceHealthy: true });
    // A run that resumes run-1 at restart (node at the target, no backup of its own) still goes back to 3.0.0.
    expect(await step(root, 'rollback', { FU_RUN_ID: 'run-1-resumed' })).toMatchObject({ code: 0, details: { version: '3.0.0' } });
  });

  it('rolls back safely before anything was downloaded', async () => {
    const root = await node('early-rollback');
    expect(await step(root, 'rollback')).toMatchObject({ code: 0, details: { version: '3.0.0', restoredBackup: false } });
    expect(await inspectSandbox(root)).toMatchObject({ currentLink: 'releases/3.0.0', serviceHealthy: true });
  });

  it('fails pre-upgrade validation when the service is down, changing nothing', async () => {
    const root = await node('down');
    await stopService(root);
    const run = await step(root, 'pre-upgrade-validation');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('check service');
  });

  it('retires a DEA node: waits until the service reports drained', async () => {
    const root = await node('retire');
    const run = await step(root, 'retire');
    expect(run).toMatchObject({ code: 0, details: { drained: true } });
  });

  it('fails retire when the node does not report drained before the timeout', async () => {
    const root = await node('never-drains');
    await stopService(root);
    const run = await step(root, 'retire', { FU_RETIRE_TIMEOUT_SECONDS: '1' });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('did not report drained within 1s');
  });

  it('turns maintenance mode on and off idempotently', async () => {
    const root = await node('core');
    expect(await step(root, 'maintenance-on')).toMatchObject({ code: 0, details: { maintenanceMode: true } });
    expect(await step(root, 'maintenance-on')).toMatchObject({ code: 0 });
    expect((await inspectSandbox(root)).maintenance).toBe(true);
    expect(await step(root, 'maintenance-off')).toMatchObject({ code: 0, details: { maintenanceMode: false } });
    expect((await inspectSandbox(root)).maintenance).toBe(false);
  });

  it('refuses a target version that is not a version before touching anything', async () => {
    const root = await node('bad-version');
    const run = await step(root, 'download', { FU_TARGET_VERSION: '3.1.0$(id)' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('not a version');
  });
});
