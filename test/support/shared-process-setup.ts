import { afterAll, beforeAll } from 'vitest';
import { setClientHook } from '../../adapters/aws-clients.js';
import { resetApprovalKey } from '../../adapters/approval-links.js';

// Files of the `fast` project share a process: each starts with the environment the process had, no SDK client
// (or client hook) left from another file's endpoints, no cached approval key and no exit code, and leaves them so.
const environment = { ...process.env };

function restore(): void {
  for (const key of Object.keys(process.env)) if (!(key in environment)) delete process.env[key];
  Object.assign(process.env, environment);
  setClientHook(undefined);
  resetApprovalKey();
  process.exitCode = undefined;
}

beforeAll(restore);
afterAll(restore);
