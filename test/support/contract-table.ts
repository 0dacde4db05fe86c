import { afterAll, beforeAll } from 'vitest';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DOCUMENT_CLIENT_OPTIONS } from '../../adapters/aws-clients.js';
import { Table } from '../../adapters/table.js';
import { engineUnderTest, startEngine } from './dynamodb-engine.js';
import { STORE_TABLE_KEYS, createTable, localDynamoDbClient } from '../../local/dynamodb/table.js';

/**
 * Runs a port's contract test file on a table of its own on the engine under test (FLEET_UPGRADE_DYNAMODB_ENGINE):
 * started before the file's tests, stopped after; `ready` builds the adapter on it. The table is named for the
 * port and this process (an engine given by its endpoint may be shared); environment and handlers are untouched.
 */
export function onContractTable(port: string, ready: (table: Table) => void): void {
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const engine = await startEngine(engineUnderTest());
    const name = `${port}-contract-${process.pid}`;
    await createTable(engine.endpoint, STORE_TABLE_KEYS, name);
    const db = DynamoDBDocumentClient.from(localDynamoDbClient(engine.endpoint, { maxAttempts: 1 }), DOCUMENT_CLIENT_OPTIONS);
    stop = async () => {
      db.destroy();
      await engine.stop();
    };
    ready(new Table(db, name));
  });
  afterAll(async () => {
    await stop?.();
  });
}
