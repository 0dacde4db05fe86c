import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const moduleUrl = new URL('../../local/dynamodb-local.ts', import.meta.url).href;

/** Running: exists and is not a zombie (an init that does not reap orphans at once must not fail the test). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
};

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/** A process that starts DynamoDB Local, prints its pid, then waits forever ('wait') or stops it and ends its main ('stop'). */
function starter(then: 'wait' | 'stop') {
  const code = `const { startDynamoDbLocal } = await import(${JSON.stringify(moduleUrl)});
const db = await startDynamoDbLocal();
console.log(JSON.stringify({ pid: db.pid }));
${then === 'wait' ? 'setInterval(() => {}, 1000);' : 'await db.stop();'}`;
  const child = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve((JSON.parse(line) as { pid: number }).pid);
    });
    child.once('exit', (code, signal) => reject(new Error(`the starter ended (${signal ?? code}) before DynamoDB Local started`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, started, exited };
}

describe('DynamoDB Local dies with the process that started it', () => {
  it('is killed when that process is killed by a signal (no exit handler runs)', { timeout: 180_000 }, async () => {
    const { child, started } = starter('wait');
    const java = await started;
    try {
      expect(alive(java)).toBe(true);
      child.kill('SIGKILL');
      expect(await gone(java, 10_000)).toBe(true);
    } finally {
      if (alive(java)) process.kill(java, 'SIGKILL');
    }
  });

  it('once stopped, leaves nothing that keeps the process alive (the watchdog neither)', { timeout: 180_000 }, async () => {
    const { child, started, exited } = starter('stop');
    const java = await started;
    try {
      // The process ends by itself after stop(): a watchdog or its pipe left behind would hold it.
      expect(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000))])).toBe(0);
      expect(alive(java)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
