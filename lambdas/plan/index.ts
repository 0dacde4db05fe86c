import type { UpgradeInput } from '../../core/input-schema.js';
import type { RunContext } from '../../core/run-context.js';
import { planUpgrade, type UpgradePlan } from '../../core/plan.js';
import { PlanError } from '../../core/errors.js';
import { FleetStore } from '../../adapters/store.js';
import { documentClient, requireEnv } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';

export interface PlanEvent {
  input: UpgradeInput;
  run: RunContext;
  /** A dry run returns the full plan and records nothing. */
  dryRun?: boolean;
}

/** What the state machine iterates over: groups of small node items (the full plan is in DynamoDB). */
export interface PlanOutput {
  coreNode: string;
  order: string[];
  upgradeCount: number;
  groups: { role: string; concurrency: number; nodes: { id: string; roles: string[]; retire: boolean }[] }[];
  plan?: UpgradePlan;
}

export const handler = async (event: PlanEvent): Promise<PlanOutput> => {
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const nodes = event.input.nodes;
  if (nodes === undefined) {
    throw new PlanError('nodes: discovery by tags is not available yet; list the cluster\'s nodes in the input');
  }
  const plan = planUpgrade(event.input, nodes, await store.knownVersions(event.run.cluster));
  const groups = plan.groups.map((g) => ({
    role: g.role,
    concurrency: g.concurrency,
    nodes: g.nodes.map((n) => ({ id: n.id, roles: n.roles, retire: n.retire })),
  }));
  const result: PlanOutput = { coreNode: plan.coreNode, order: plan.order, upgradeCount: plan.upgradeCount, groups };
  if (event.dryRun === true) return { ...result, plan };
  await store.putRun({
    runId: event.run.runId,
    cluster: event.run.cluster,
    targetVersion: event.run.targetVersion,
    coreNode: plan.coreNode,
    order: plan.order,
    roles: Object.fromEntries(nodes.map((n) => [n.id, n.roles])),
    plannedFrom: Object.fromEntries(plan.groups.flatMap((g) => g.nodes.map((n) => [n.id, n.from]))),
    startedAt: event.run.startedAt,
  });
  logger.info('upgrade planned', { runId: event.run.runId, order: plan.order, coreNode: plan.coreNode });
  return result;
};
