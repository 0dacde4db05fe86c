import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';

/**
 * SDK clients built lazily from the usual credential/region chain. Endpoints come from the standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how the local rehearsal points them at loopback.
 */
let ddb: DynamoDBDocumentClient | undefined;
let ssm: SSMClient | undefined;
let sfn: SFNClient | undefined;
let tagging: ResourceGroupsTaggingAPIClient | undefined;
let sns: SNSClient | undefined;

const retryOptions = { maxAttempts: 5, retryMode: 'adaptive' } as const;

export function documentClient(): DynamoDBDocumentClient {
  ddb ??= DynamoDBDocumentClient.from(new DynamoDBClient(retryOptions), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return ddb;
}

export function ssmClient(): SSMClient {
  ssm ??= new SSMClient(retryOptions);
  return ssm;
}

export function sfnClient(): SFNClient {
  sfn ??= new SFNClient(retryOptions);
  return sfn;
}

export function snsClient(): SNSClient {
  sns ??= new SNSClient(retryOptions);
  return sns;
}

export function taggingClient(): ResourceGroupsTaggingAPIClient {
  tagging ??= new ResourceGroupsTaggingAPIClient(retryOptions);
  return tagging;
}

/** Reads a required environment variable of a handler, failing with a clear message when it is missing. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** Forgets the cached clients, so the next call builds them from the current environment (local runtime only). */
export function resetClients(): void {
  ddb = undefined;
  ssm = undefined;
  sfn = undefined;
  tagging = undefined;
  sns = undefined;
}
