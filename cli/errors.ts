/**
 * Exit codes: 0 succeeded, 1 the run ended otherwise, 2 bad input or usage (nothing touched), 3 AWS (or the
 * local endpoint) could not be asked: no credentials, no region, a refused or timed-out connection.
 */
export const EXIT_OK = 0;
export const EXIT_RUN_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_UNREACHABLE = 3;

/** A usage problem detected by the CLI itself: exit 2 with the message. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** AWS could not be asked at all (as opposed to answering no): exit 3, with what to check. */
export class AwsUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AwsUnreachableError';
  }
}

const UNREACHABLE_NAMES = new Set([
  'CredentialsProviderError',
  'TimeoutError',
  'RequestTimeout',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
]);
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAI_AGAIN']);

/** Whether an SDK error means nobody could be asked (credentials, region, network), not that AWS said no. */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (UNREACHABLE_NAMES.has(error.name) || (typeof code === 'string' && UNREACHABLE_CODES.has(code))) return true;
  if (/Region is missing/i.test(error.message)) return true;
  return error.cause !== undefined && isUnreachable(error.cause);
}

/** What to check when AWS could not be asked. */
export function unreachableHint(endpoint: string | undefined): string {
  return endpoint === undefined
    ? 'check your AWS credentials and region (AWS_PROFILE or --profile, AWS_REGION or --region) and your network'
    : `is \`fleet-upgrade local serve\` running at ${endpoint}?`;
}
