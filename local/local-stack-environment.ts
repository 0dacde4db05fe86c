import { randomBytes } from 'node:crypto';
import { resetClients } from '../adapters/aws-clients.js';
import { resetApprovalKey } from '../adapters/approval-links.js';
import { logger } from '../adapters/logger.js';
import type { StepId } from '../core/steps.js';
import { SIGN_IN_ENV } from './scripted-operator.js';

/** The loopback endpoints the handlers' SDK clients are pointed at, by service. */
export interface LocalEndpoints {
  dynamodb: string;
  ssm: string;
  logs: string;
  sfn: string;
  sns: string;
  tagging: string;
  /** Absent: no CloudWatch is served. */
  cloudwatch?: string;
}

/**
 * Configures the real handlers through the environment, exactly as Lambda does: the template's variables, then
 * what differs locally (names, endpoints, keys). SDK clients built from now on see it, and carry the IAM check.
 */
export function configureHandlers(opts: {
  /** The functions' environment from the template. */
  environment: Record<string, string>;
  tableName: string;
  documentName: string;
  artifactBaseUrl: string;
  endpoints: LocalEndpoints;
  /** Where the approval page is (APPROVAL_URL) and, with sign-in, its provider. */
  approvalEnv: Record<string, string>;
  topicArn: string | undefined;
  stepTimeouts: { seconds: number; steps?: StepId[] } | undefined;
}): void {
  const level = process.env.FLEET_UPGRADE_LAMBDA_LOG_LEVEL ?? 'SILENT';
  const { endpoints } = opts;
  Object.assign(process.env, opts.environment, {
    TABLE_NAME: opts.tableName,
    DOCUMENT_NAME: opts.documentName,
    ARTIFACT_BASE_URL: opts.artifactBaseUrl,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SSM: endpoints.ssm,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoints.logs,
    AWS_ENDPOINT_URL_SFN: endpoints.sfn,
    AWS_ENDPOINT_URL_SNS: endpoints.sns,
    AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: endpoints.tagging,
    // Any link is signed with a key of this process (the template's secret exists only in AWS).
    APPROVAL_KEY: randomBytes(32).toString('hex'),
    STEP_TIMEOUT_CAP_SECONDS: opts.stepTimeouts === undefined ? '' : String(opts.stepTimeouts.seconds),
    STEP_TIMEOUT_CAP_STEPS: (opts.stepTimeouts?.steps ?? []).join(','),
    // run-stopped polls SSM for its own commands; a local command takes milliseconds, not seconds.
    RUN_STOPPED_POLL_MS: '200',
    POWERTOOLS_LOG_LEVEL: level,
    AWS_LAMBDA_LOG_LEVEL: level,
  });
  // An earlier stack of this process may have served CloudWatch; this one's health checks must not reach it.
  if (endpoints.cloudwatch === undefined) delete process.env.AWS_ENDPOINT_URL_CLOUDWATCH;
  else process.env.AWS_ENDPOINT_URL_CLOUDWATCH = endpoints.cloudwatch;
  // After the template's variables, whose APPROVAL_URL is API Gateway's and whose sign-in, if synthesized with
  // one, is a real provider's.
  for (const name of SIGN_IN_ENV) delete process.env[name];
  Object.assign(process.env, opts.approvalEnv);
  if (opts.topicArn !== undefined) process.env.TOPIC_ARN = opts.topicArn;
  resetClients();
  resetApprovalKey();
  // The logger may have been built before this environment was set: apply the level explicitly.
  logger.setLogLevel(level as Parameters<typeof logger.setLogLevel>[0]);
}
