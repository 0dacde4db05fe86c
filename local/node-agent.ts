import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A command for the agent: write `script` into `dir`, run it with sh in `cwd`. */
export interface AgentRequest {
  id: number;
  dir: string;
  script: string;
  cwd: string;
  timeoutSeconds: number;
  env: NodeJS.ProcessEnv;
}

/** How the script ended, and how long it ran (from its start to its exit, measured by the agent). */
export type AgentReply = { id: number; code: number; stdout: string; stderr: string; timedOut: boolean; scriptMs: number } | { id: number; failure: string };

export type ScriptRun = Extract<AgentReply, { code: number }>;

/** Runs the local nodes' scripts in a separate small process (see node-agent-process.ts for why). */
export interface NodeAgent {
  run(request: Omit<AgentRequest, 'id'>): Promise<ScriptRun>;
  close(): Promise<void>;
}

/** Starts the agent process and resolves once it is ready for commands. */
export async function startNodeAgent(): Promise<NodeAgent> {
  // The agent is TypeScript like the rest: it runs under tsx, resolved from this project (not the cwd).
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child: ChildProcess = spawn(process.execPath, ['--import', tsx, join(import.meta.dirname, 'node-agent-process.ts')], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}) },
  });
  const pending = new Map<number, { resolve: (run: ScriptRun) => void; reject: (error: Error) => void }>();
  let next = 1;
  let exited = false;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    exited = true;
    for (const p of pending.values()) p.reject(new Error(`the local node agent exited (${signal ?? code}) while a command ran`));
    pending.clear();
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`the local node agent did not start (${signal ?? code})`)));
    child.once('message', () => resolve());
  });
  child.on('message', (reply: AgentReply | { ready: true }) => {
    if (!('id' in reply)) return;
    const p = pending.get(reply.id);
    pending.delete(reply.id);
    if ('failure' in reply) p?.reject(new Error(`local node agent: ${reply.failure}`));
    else p?.resolve(reply);
  });
  return {
    run(request) {
      if (exited) return Promise.reject(new Error('the local node agent is not running'));
      const id = next++;
      return new Promise<ScriptRun>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, ...request } satisfies AgentRequest);
      });
    },
    async close() {
      if (exited) return;
      child.disconnect();
      await gone;
    },
  };
}
