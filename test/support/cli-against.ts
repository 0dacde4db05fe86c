import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The environment an operator's shell has: none of a local runtime's own (handler endpoints, table name). */
export function operatorEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && k !== 'TABLE_NAME' && k !== 'DOCUMENT_NAME'));
}

/**
 * The CLI as an operator runs it against `local serve`: its own process, `--endpoint` only. The timeout is
 * generous: on a loaded 2-core machine one upgrade of a small cluster has taken 120 s (it is not a speed check).
 */
export async function cliAgainst(endpoint: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', 'bin/fleet-upgrade.ts', '--endpoint', endpoint, ...args], {
      timeout: 240_000,
      env: operatorEnvironment(),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
