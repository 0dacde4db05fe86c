import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { LocalDynamoDb } from './start.js';

/** dynalite as it comes, in this process, without the compatibility layer: what the layer is tested and measured against. */
export async function startBareDynalite(): Promise<LocalDynamoDb> {
  const dynalite = createRequire(import.meta.url)('dynalite') as (options: object) => Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('dynalite did not listen on a TCP port');
  return { endpoint: `http://127.0.0.1:${address.port}`, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
