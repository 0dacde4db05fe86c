import { execFile } from 'node:child_process';
import { createHash, sign, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SERVICE_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'service.sh');

export interface BuiltPackage {
  file: string;
  sha256: string;
  bytes: number;
}

/**
 * Builds the demo application's package for a version, as an artifact repository would serve it:
 * `<outDir>/<version>/app-<version>.tar.gz` (VERSION + bin/service), `<outDir>/<version>/SHA256SUMS` and,
 * with a `signingKey` (Ed25519), the detached signature `app-<version>.tar.gz.sig` (what `openssl pkeyutl -sign -rawin` writes).
 */
export async function buildPackage(outDir: string, version: string, signingKey?: KeyObject): Promise<BuiltPackage> {
  const dir = join(outDir, version);
  const name = `app-${version}.tar.gz`;
  const file = join(dir, name);
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true });
    const staging = await mkdtemp(join(dir, '.staging-'));
    try {
      await mkdir(join(staging, 'bin'));
      await writeFile(join(staging, 'VERSION'), `${version}\n`);
      await copyFile(SERVICE_SOURCE, join(staging, 'bin', 'service'));
      await chmod(join(staging, 'bin', 'service'), 0o755);
      await run('tar', ['-czf', `${file}.tmp`, '-C', staging, 'VERSION', 'bin']);
      await run('mv', [`${file}.tmp`, file]);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  const bytes = await readFile(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(dir, 'SHA256SUMS'), `${sha256}  ${name}\n`);
  if (signingKey !== undefined) await writeFile(`${file}.sig`, sign(null, bytes, signingKey));
  return { file, sha256, bytes: (await stat(file)).size };
}
