import { Logger } from '@aws-lambda-powertools/logger';

/** Structured JSON logs for every handler (level from POWERTOOLS_LOG_LEVEL). */
export const logger = new Logger({ serviceName: 'fleet-upgrade' });
