import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { DOCUMENT_CLIENT_OPTIONS, resetClients } from '../../adapters/aws-clients.js';
import { Table } from '../../adapters/table.js';
import { engineUnderTest, startEngine } from './dynamodb-engine.js';

const local = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };

/** Creates the table as the stack defines it (`pk`/`sk`, on demand). */
async function createTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, ...local });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  client.destroy();
}

/** Starts the local DynamoDB, creates the table as the stack defines it, and points the handlers at it. */
export async function localTable(tableName = 'fleet-upgrade-test'): Promise<LocalDynamoDb> {
  const dynamodb = await startLocalDynamoDb();
  await createTable(dynamodb.endpoint, tableName);
  Object.assign(process.env, {
    TABLE_NAME: tableName,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  resetClients();
  return dynamodb;
}

/** A table of its own on the engine under test (FLEET_UPGRADE_DYNAMODB_ENGINE), for a port's contract test. */
export interface ContractTable {
  table: Table;
  stop(): Promise<void>;
}

/**
 * Starts the engine under test and creates a table named for the port (and this process: an engine given by
 * its endpoint may be shared), reached through its own document client; environment and handlers untouched.
 */
export async function contractTable(port: string): Promise<ContractTable> {
  const engine = await startEngine(engineUnderTest());
  const name = `${port}-contract-${process.pid}`;
  await createTable(engine.endpoint, name);
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: engine.endpoint, ...local, maxAttempts: 1 }), DOCUMENT_CLIENT_OPTIONS);
  return {
    table: new Table(db, name),
    stop: async () => {
      db.destroy();
      await engine.stop();
    },
  };
}
