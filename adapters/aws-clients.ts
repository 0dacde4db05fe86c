import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';

/**
 * SDK clients built lazily from the usual credential/region chain. Endpoints come from the standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how the local rehearsal points them at loopback.
 */
let ddb: DynamoDBDocumentClient | undefined;
let ssm: SSMClient | undefined;
let sfn: SFNClient | undefined;
let tagging: ResourceGroupsTaggingAPIClient | undefined;
let sns: SNSClient | undefined;
let logs: CloudWatchLogsClient | undefined;
let cloudwatch: CloudWatchClient | undefined;

const retryOptions = { maxAttempts: 5, retryMode: 'adaptive' } as const;

/** Every client built here, with its SDK name; the local rehearsal adds its IAM check this way. None in Lambda. */
type ClientHook = (
  client: DynamoDBClient | SSMClient | SFNClient | SNSClient | ResourceGroupsTaggingAPIClient | CloudWatchLogsClient | CloudWatchClient,
  name: string,
) => void;
let clientHook: ClientHook | undefined;

function built<T extends DynamoDBClient | SSMClient | SFNClient | SNSClient | ResourceGroupsTaggingAPIClient | CloudWatchLogsClient | CloudWatchClient>(
  client: T,
  name: string,
): T {
  clientHook?.(client, name);
  return client;
}

/** How the stores' items are converted: an optional field left undefined is not written. */
export const DOCUMENT_CLIENT_OPTIONS = { marshallOptions: { removeUndefinedValues: true } } as const;

export function documentClient(): DynamoDBDocumentClient {
  // The document client shares the wrapped client's middleware stack: the hook sees every call.
  ddb ??= DynamoDBDocumentClient.from(built(new DynamoDBClient(retryOptions), 'DynamoDBClient'), DOCUMENT_CLIENT_OPTIONS);
  return ddb;
}

export function ssmClient(): SSMClient {
  ssm ??= built(new SSMClient(retryOptions), 'SSMClient');
  return ssm;
}

export function sfnClient(): SFNClient {
  sfn ??= built(new SFNClient(retryOptions), 'SFNClient');
  return sfn;
}

export function snsClient(): SNSClient {
  sns ??= built(new SNSClient(retryOptions), 'SNSClient');
  return sns;
}

export function taggingClient(): ResourceGroupsTaggingAPIClient {
  tagging ??= built(new ResourceGroupsTaggingAPIClient(retryOptions), 'ResourceGroupsTaggingAPIClient');
  return tagging;
}

export function logsClient(): CloudWatchLogsClient {
  logs ??= built(new CloudWatchLogsClient(retryOptions), 'CloudWatchLogsClient');
  return logs;
}

export function cloudwatchClient(): CloudWatchClient {
  cloudwatch ??= built(new CloudWatchClient(retryOptions), 'CloudWatchClient');
  return cloudwatch;
}

/** Local runtime only: called with each client built from now on (clients built before are forgotten). */
export function setClientHook(hook: ClientHook | undefined): void {
  clientHook = hook;
  resetClients();
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
  logs = undefined;
  cloudwatch = undefined;
}
