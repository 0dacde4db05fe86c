import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { approvalKey, sessionKey } from '../../adapters/approval-links.js';
import { signInFromEnv } from '../../adapters/oidc.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, requireEnv, sfnClient } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { approvalPage, unavailable, type ApprovalPageDeps } from './page.js';

/** API Gateway HTTP API (payload format 2.0) → the approval page. */
export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  let deps: ApprovalPageDeps;
  try {
    const provider = await signInFromEnv();
    deps = {
      store: new FleetStore(documentClient(), requireEnv('TABLE_NAME')),
      sfn: sfnClient(),
      key: await approvalKey(),
      now: new Date(),
      signIn: provider === null ? null : { provider, key: await sessionKey() },
    };
  } catch (error) {
    logger.error('approval page is misconfigured', { error: error instanceof Error ? error.message : String(error) });
    return unavailable();
  }
  return approvalPage(event, deps);
};
