import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../local/free-port.js';
import { startLocalDynamoDb, type LocalDynamoDb } from '../local/dynamodb/start.js';
import { startBareDynalite } from '../local/dynamodb/bare.js';

/**
 * Starts the engine `name` names (see engine-probe.ts), or only uses an endpoint given. Each one started here
 * in a process of its own has a `pid`, so the CPU it spends can be read apart.
 */
export async function startEngine(name: string): Promise<LocalDynamoDb> {
  if (name.startsWith('http')) return { endpoint: name, pid: undefined, stop: async () => undefined };
  if (name === 'local-dynamodb' || name === 'local-dynamodb-disk') {
    const dir = name === 'local-dynamodb-disk' ? mkdtempSync(join(tmpdir(), 'probe-local-')) : undefined;
    const d = await startLocalDynamoDb(dir === undefined ? {} : { dir });
    return {
      endpoint: d.endpoint,
      pid: d.pid,
      stop: async () => {
        await d.stop();
        if (dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (name === 'dynalite-inprocess') return startBareDynalite();
  const require = createRequire(import.meta.url);
  if (name === 'dynalite' || name === 'dynalite-disk') {
    const port = await freePort();
    const dir = name === 'dynalite-disk' ? mkdtempSync(join(tmpdir(), 'probe-dynalite-')) : undefined;
    const cli = require.resolve('dynalite/cli.js');
    const child: ChildProcess = spawn(
      process.execPath,
      [cli, '--host', '127.0.0.1', '--port', String(port), '--createTableMs', '0', ...(dir ? ['--path', dir] : [])],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    return {
      endpoint: `http://127.0.0.1:${port}`,
      pid: child.pid,
      async stop() {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
        if (dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error(`unknown engine ${name}`);
}
