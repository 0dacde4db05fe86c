import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb-local.js';
import { startLocalDynamoDb } from '../../local/dynamodb/start.js';

/**
 * The local DynamoDB engines a contract test can run against:
 *   dynalite        dynalite with the compatibility layer in local/dynamodb/ (the open-source engine)
 *   dynamodb-local  AWS's DynamoDB Local (Java), the engine the rehearsal used first
 *   dynalite-bare   dynalite as it comes, without our compatibility layer (to see each gap fail)
 */
export const ENGINES = ['dynalite', 'dynamodb-local', 'dynalite-bare'] as const;
export type EngineName = (typeof ENGINES)[number];

/** The engine named by FLEET_UPGRADE_DYNAMODB_ENGINE, else the open-source one the rehearsal runs on. */
export function engineUnderTest(): EngineName {
  const named = process.env.FLEET_UPGRADE_DYNAMODB_ENGINE;
  if (named === undefined || named === '') return 'dynalite';
  if (!(ENGINES as readonly string[]).includes(named)) throw new Error(`FLEET_UPGRADE_DYNAMODB_ENGINE: expected one of ${ENGINES.join(', ')}, got ${named}`);
  return named as EngineName;
}

/** Starts the engine on loopback; the caller stops it. */
export async function startEngine(name: EngineName = engineUnderTest()): Promise<DynamoDbLocal> {
  if (name === 'dynamodb-local') return startDynamoDbLocal();
  if (name === 'dynalite') return startLocalDynamoDb();
  const dynalite = createRequire(import.meta.url)('dynalite') as (options: object) => Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('dynalite did not listen on a TCP port');
  return { endpoint: `http://127.0.0.1:${address.port}`, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
