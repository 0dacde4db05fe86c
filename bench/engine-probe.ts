/**
 * Probes a local DynamoDB engine on the features our store uses, then times it (docs/local-dynamodb-engine.md
 * records the results). Each engine runs as its own process on loopback, so the CPU it spends is read apart.
 *
 *   tsx bench/engine-probe.ts local-dynamodb | local-dynamodb-disk | dynalite | dynalite-disk | dynalite-inprocess | http://127.0.0.1:PORT
 *
 * local-dynamodb is ours (local/dynamodb/start.ts: dynalite with the compatibility layer, in its own process);
 * the dynalite ones are dynalite alone; an endpoint is an engine started by hand (DynamoDB Local was probed as
 * `java -Djava.library.path=DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -sharedDb -port PORT`).
 *
 * Prints one JSON object: per feature, what the engine did; per operation, ms per request.
 */
import { performance } from 'node:perf_hooks';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { localDynamoDbClient } from '../local/dynamodb/table.js';
import { startEngine } from './engine-probe-engines.js';
import { features } from './engine-probe-features.js';
import { speed } from './engine-probe-speed.js';

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'dynalite';
  const started = performance.now();
  const engine = await startEngine(name);
  const db = localDynamoDbClient(engine.endpoint);
  await db.send(new ListTablesCommand({}));
  const startMs = Math.round(performance.now() - started);
  try {
    const result = { engine: name, node: process.version, startMs, features: await features(db), speed: await speed(db, engine) };
    console.log(JSON.stringify(result, null, 1));
  } finally {
    db.destroy();
    await engine.stop();
  }
}

await main();
