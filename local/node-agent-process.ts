/**
 * The local nodes' command agent, run as a small process of its own by `startNodeAgent` (node-agent.ts):
 * like the SSM agent on an instance, it writes a command's script into the command's directory, runs it
 * with `sh`, and keeps its output there. Forking from this small process is cheap, and it never blocks
 * the rehearsal's event loop, which orchestrates every other node meanwhile.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AgentReply, AgentRequest } from './node-agent.js';

// The terminal's Ctrl-C reaches this process too (same process group): the rehearsal stops its run safely
// and still needs the agent to finish the step under way. The agent ends when the rehearsal ends it.
process.on('SIGINT', () => undefined);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a script with sh in its own process group, so a timeout stops everything it started in the foreground. */
function runScript(file: string, cwd: string, timeoutSeconds: number, env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn('sh', [file], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutSeconds * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, timedOut });
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${error.message}\n`, timedOut });
    });
  });
}

async function execute(request: AgentRequest): Promise<AgentReply> {
  // Synchronous: two small writes block this small process for microseconds, where each round trip through
  // libuv's thread pool cost a millisecond or more on a loaded small machine, in every step's time.
  mkdirSync(request.dir, { recursive: true });
  const file = join(request.dir, '_script.sh');
  writeFileSync(file, request.script, { mode: 0o700 });
  const began = performance.now();
  const outcome = await runScript(file, request.cwd, request.timeoutSeconds, request.env);
  const scriptMs = performance.now() - began;
  return { id: request.id, ...outcome, scriptMs };
}

const send = (message: unknown) => process.send?.(message);
process.on('message', (request: AgentRequest) => {
  execute(request).then(
    (reply) => {
      send(reply);
      // The output also stays in the command's directory, for whoever looks into a rehearsal's workdir
      // afterwards; the command's status comes from the reply, so it is written after the reply went.
      if (!('code' in reply)) return;
      try {
        writeFileSync(join(request.dir, 'stdout'), reply.stdout);
        writeFileSync(join(request.dir, 'stderr'), reply.stderr);
      } catch {
        // The rehearsal removed its workdir meanwhile: nobody is left to look.
      }
    },
    (error: unknown) => send({ id: request.id, failure: error instanceof Error ? error.message : String(error) } satisfies AgentReply),
  );
});
// The rehearsal went away (closed the agent, or ended without closing it): so does the agent.
process.on('disconnect', () => process.exit(0));
send({ ready: true });
