import { main } from '../../cli/main.js';

/**
 * The CLI's `main` in this process, its output captured: for refusals, which end before anything starts,
 * a child process per case would spend seconds loading what the answer never needs.
 */
export async function cliInProcess(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => (
    (stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()),
    true
  )) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (
    (stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()),
    true
  )) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}
