import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { STORE_TABLE_KEYS, createTable } from '../../local/dynamodb/table.js';
import { resetClients } from '../../adapters/aws-clients.js';

/** Starts the local DynamoDB, creates the table with the store's keys, and points the handlers at it. */
export async function localTable(tableName = 'fleet-upgrade-test'): Promise<LocalDynamoDb> {
  const dynamodb = await startLocalDynamoDb();
  await createTable(dynamodb.endpoint, STORE_TABLE_KEYS, tableName);
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
