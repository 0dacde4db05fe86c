import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';

/**
 * The DynamoDB engine a contract test runs against, named by FLEET_UPGRADE_DYNAMODB_ENGINE:
 *   dynalite        (the default) dynalite with the compatibility layer, as the rehearsal runs it
 *   dynalite-bare   dynalite as it comes, without the layer (to see each gap fail)
 *   http://HOST:PORT  an engine someone started, e.g. AWS's DynamoDB Local (java -jar DynamoDBLocal.jar
 *                   -inMemory -port PORT) to compare with the engine the rehearsal used before
 */
export type EngineName = 'dynalite' | 'dynalite-bare' | `http://${string}`;

export function engineUnderTest(): EngineName {
  const named = process.env.FLEET_UPGRADE_DYNAMODB_ENGINE;
  if (named === undefined || named === '') return 'dynalite';
  if (named === 'dynalite' || named === 'dynalite-bare' || named.startsWith('http://')) return named as EngineName;
  throw new Error(`FLEET_UPGRADE_DYNAMODB_ENGINE: expected dynalite, dynalite-bare or http://HOST:PORT, got ${named}`);
}

/** Starts the engine on loopback (an endpoint given is only used); the caller stops it. */
export async function startEngine(name: EngineName = engineUnderTest()): Promise<LocalDynamoDb> {
  if (name.startsWith('http://')) return { endpoint: name, stop: async () => undefined };
  if (name === 'dynalite') return startLocalDynamoDb();
  const dynalite = createRequire(import.meta.url)('dynalite') as (options: object) => Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('dynalite did not listen on a TCP port');
  return { endpoint: `http://127.0.0.1:${address.port}`, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
