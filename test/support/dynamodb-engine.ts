import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { startBareDynalite } from '../../local/dynamodb/bare.js';

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
  return startBareDynalite();
}
