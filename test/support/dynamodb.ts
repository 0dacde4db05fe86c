import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynamodb/start.js';
import { resetClients } from '../../adapters/aws-clients.js';

/** The region and dummy keys every local client uses. */
export const LOCAL_CREDENTIALS = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };

/** Creates the table as the stack defines it (`pk`/`sk`, on demand). */
export async function createTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, ...LOCAL_CREDENTIALS });
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
