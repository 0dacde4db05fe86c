import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { freePort } from './free-port.js';

/** A running DynamoDB Local (AWS's own engine, in memory) on loopback. */
export interface DynamoDbLocal {
  readonly endpoint: string;
  /** The Java process (benchmarks read its CPU time); undefined for one not started here. */
  readonly pid?: number | undefined;
  stop(): Promise<void>;
}

/** Where the DynamoDB Local jar lives: shipped inside the `amplify-dynamodb-simulator` npm package. */
export function dynamoDbLocalJar(): { jar: string; libDir: string } {
  const require = createRequire(import.meta.url);
  const emulator = join(dirname(require.resolve('amplify-dynamodb-simulator/package.json')), 'emulator');
  const jar = join(emulator, 'DynamoDBLocal.jar');
  if (!existsSync(jar)) throw new Error(`DynamoDB Local is missing (${jar}); run npm ci`);
  return { jar, libDir: join(emulator, 'DynamoDBLocal_lib') };
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The serial collector: on a 2-core machine G1's concurrent threads take CPU from the nodes' scripts and the
 * state machine. The JIT keeps both tiers: C1 alone makes warm requests slower (measurements in commit c66ec75).
 */
const JVM_OPTIONS = ['-XX:+UseSerialGC'];

/**
 * A shell that waits on a pipe from this process and kills `pid` when the pipe closes: at our exit, or at
 * our death by a signal. In a process group of its own, so the terminal's Ctrl-C leaves it alone. Neither it
 * nor its pipe keeps this process alive.
 */
function watchOver(pid: number | undefined): ChildProcess | undefined {
  if (pid === undefined) return undefined;
  const watchdog = spawn('sh', ['-c', 'read -r _; kill -KILL "$1" 2>/dev/null', 'fleet-upgrade-watchdog', String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  watchdog.once('error', () => undefined);
  watchdog.unref();
  (watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
  return watchdog;
}

/** Starts DynamoDB Local in memory on a free loopback port and waits until it accepts connections. */
export async function startDynamoDbLocal(): Promise<DynamoDbLocal> {
  const { jar, libDir } = dynamoDbLocalJar();
  const port = await freePort();
  const child: ChildProcess = spawn(
    'java',
    [`-Djava.library.path=${libDir}`, '-Xmx512m', ...JVM_OPTIONS, '-jar', jar, '-inMemory', '-sharedDb', '-port', String(port)],
    // It writes a metadata file into its working directory: keep that out of the project. Its own process
    // group: a terminal's Ctrl-C goes to the foreground group only, and a safe stop still needs DynamoDB.
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: mkdtempSync(join(tmpdir(), 'dynamodb-local-')), detached: true },
  );
  // Out of our process group it no longer dies with us by itself. When we exit, it goes too; and because a
  // process killed by a signal (a test runner's timeout, `kill`, the OOM killer) runs no exit handler, a
  // watchdog holds a pipe from us and kills it when that pipe closes, whatever way we ended.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const watchdog = watchOver(child.pid);
  child.once('exit', () => {
    process.off('exit', killOnExit);
    watchdog?.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  child.once('error', () => {
    exited = true;
  });
  // Java starts in 3–4 s on an idle machine; a loaded CI machine has been seen to need far longer.
  const deadline = Date.now() + 120_000;
  while (!(await portOpen(port))) {
    if (exited) throw new Error(`DynamoDB Local did not start (is Java 17+ installed?): ${stderr.trim().slice(-500)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('DynamoDB Local did not open its port within 120 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}
