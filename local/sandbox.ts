import { execFile, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, readlink, symlink, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildPackage } from './packages.js';

const run = promisify(execFile);

/** What an operator would check on a node. */
export interface NodeInspection {
  currentVersion: string | null;
  currentLink: string | null;
  serviceHealthy: boolean;
  heartbeatVersion: string | null;
  stateJson: string | null;
  maintenance: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes `root` look like a running node at `version`: the release unpacked under opt/app/releases,
 * a relative `current` link, var/lib/app/state.json, and the service started detached as restart.sh does.
 */
export async function createSandbox(opts: { root: string; version: string; packageDir: string; state: unknown }): Promise<void> {
  const { root, version } = opts;
  const pkg = await buildPackage(opts.packageDir, version);
  const release = join(root, 'opt/app/releases', version);
  await mkdir(release, { recursive: true });
  await run('tar', ['-xzf', pkg.file, '-C', release]);
  await rm(join(root, 'opt/app/current'), { force: true });
  await symlink(`releases/${version}`, join(root, 'opt/app/current'));
  await mkdir(join(root, 'var/lib/app'), { recursive: true });
  await writeFile(join(root, 'var/lib/app/state.json'), `${JSON.stringify(opts.state, null, 2)}\n`);
  await mkdir(join(root, 'var/run/app'), { recursive: true });
  await mkdir(join(root, 'var/log/app'), { recursive: true });
  await startService(root);
}

/**
 * Starts the sandbox's service detached, as restart.sh does, unless it runs already, and waits until it is
 * healthy (a drained node's service starts drained: its draining mark is in var/run/app).
 */
export async function startService(root: string): Promise<void> {
  const running = Number((await readText(join(root, 'var/run/app/service.pid')))?.trim());
  if (Number.isInteger(running) && running > 0 && alive(running)) return;
  const log = openSync(join(root, 'var/log/app/service.log'), 'a');
  const child = spawn(join(root, 'opt/app/current/bin/service'), [], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ROOT: root },
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();
  await writeFile(join(root, 'var/run/app/service.pid'), `${child.pid}\n`);
  const deadline = Date.now() + 10_000;
  while (!(await inspectSandbox(root)).serviceHealthy) {
    if (Date.now() > deadline) throw new Error(`the service of sandbox ${root} did not become healthy`);
    await sleep(50);
  }
}

/** Stops the sandbox's service (TERM, then KILL after 5 s); no error when it is not running. */
export async function stopService(root: string): Promise<void> {
  const text = await readText(join(root, 'var/run/app/service.pid'));
  const pid = Number(text?.trim());
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** Reads a sandbox node's state the way the runbook's health check does. */
export async function inspectSandbox(root: string): Promise<NodeInspection> {
  const currentVersion = (await readText(join(root, 'opt/app/current/VERSION')))?.trim() ?? null;
  const currentLink = await readlink(join(root, 'opt/app/current')).catch(() => null);
  const heartbeat = (await readText(join(root, 'var/run/app/heartbeat'))) ?? '';
  const field = (name: string) => new RegExp(`(?:^|\\s)${name}=(\\S+)`).exec(heartbeat)?.[1] ?? null;
  const pid = Number((await readText(join(root, 'var/run/app/service.pid')))?.trim());
  const beat = Number(field('time'));
  const heartbeatVersion = field('version');
  const serviceHealthy =
    Number.isInteger(pid) && pid > 0 && alive(pid) && Number.isFinite(beat) && Date.now() / 1000 - beat <= 5 && heartbeatVersion === currentVersion;
  return {
    currentVersion,
    currentLink,
    serviceHealthy,
    heartbeatVersion,
    stateJson: await readText(join(root, 'var/lib/app/state.json')),
    maintenance: existsSync(join(root, 'var/run/app/maintenance')),
  };
}
