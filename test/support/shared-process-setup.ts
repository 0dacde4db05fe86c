import { afterAll, beforeAll } from 'vitest';
import { resetClients } from '../../adapters/aws-clients.js';

// Files of the `fast` project share a process: each starts with the environment the process had and with no
// SDK client cached for another file's endpoints, and leaves both so for the next.
const environment = { ...process.env };

function restore(): void {
  for (const key of Object.keys(process.env)) if (!(key in environment)) delete process.env[key];
  Object.assign(process.env, environment);
  resetClients();
}

beforeAll(restore);
afterAll(restore);
