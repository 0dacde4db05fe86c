import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A running local DynamoDB (dynalite with the compatibility layer, open source) on loopback. */
export interface LocalDynamoDb {
  readonly endpoint: string;
  /** Its process: benchmarks read its CPU time from /proc/<pid>/stat. Undefined for one not started here. */
  readonly pid?: number | undefined;
  stop(): Promise<void>;
}

export interface LocalDynamoDbOptions {
  /** Keep the tables in this directory (a later start on it finds them: a rehearsal resumes). @default in memory */
  dir?: string;
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/**
 * Starts the local DynamoDB in a process of its own and waits until it serves. Its own process: it works on
 * the machine's other core while the handlers and the state machine keep this one, and its CPU time can be
 * read apart. Its own process group: a terminal's Ctrl-C reaches the rehearsal only, whose safe stop still
 * needs the table. It ends when stopped, or when this process ends however it ends (its stdin closes).
 */
export async function startLocalDynamoDb(opts: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const args = ['--import', tsx, CHILD, ...(opts.dir === undefined ? [] : ['--dir', resolve(opts.dir)])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  const port = await new Promise<number>((ready, fail) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) return;
      child.stdout.off('data', onData);
      ready((JSON.parse(line) as { port: number }).port);
    };
    child.stdout.on('data', onData);
    child.once('error', (error) => fail(new Error(`the local DynamoDB did not start: ${error.message}`)));
    void exited.then(() => fail(new Error(`the local DynamoDB did not start: ${stderr.trim() || `exit ${String(child.exitCode ?? child.signalCode)}`}`)));
  });
  // Neither the child nor its pipes keep this process alive; the stdin pipe stays open until this process ends.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      if (ended) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
