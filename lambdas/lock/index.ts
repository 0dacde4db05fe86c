import { FleetStore } from '../../adapters/store.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';
import { DEFAULT_LOCK_TTL_SECONDS } from '../../core/execution-timeout.js';

export interface LockEvent {
  action: 'acquire' | 'release';
  cluster: string;
  runId: string;
}

/** Takes or releases the cluster lock: one run per cluster at a time. */
export const handler = async (event: LockEvent): Promise<{ acquired?: boolean; expiresAt?: string; released?: boolean }> => {
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  if (event.action === 'acquire') {
    const ttl = Number(process.env.LOCK_TTL_SECONDS ?? DEFAULT_LOCK_TTL_SECONDS);
    const { expiresAt } = await store.acquireLock(event.cluster, event.runId, new Date(), ttl);
    logger.info('cluster lock acquired', { cluster: event.cluster, runId: event.runId, expiresAt });
    return { acquired: true, expiresAt };
  }
  const released = await store.releaseLock(event.cluster, event.runId);
  logger.info('cluster lock released', { cluster: event.cluster, runId: event.runId, released });
  return { released };
};
