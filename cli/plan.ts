import { Command } from 'commander';
import { planUpgrade, type UpgradePlan } from '../core/plan.js';
import { DEFAULT_NODE_WINDOW_SECONDS, estimatesFrom, formatSeconds, planWindow, windowEstimates, type WindowEstimates } from '../core/window.js';
import { Table } from '../adapters/table.js';
import { WindowStore } from '../adapters/window-store.js';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { SSMClient } from '@aws-sdk/client-ssm';
import { discoverNodes } from '../adapters/discovery.js';
import { UsageError } from './errors.js';
import { globalFlags, StackClients } from './aws.js';
import { addInputOptions, buildInput, type InputFlags } from './input-flags.js';
import { table } from './table.js';
import { refuseOversizedInput } from './run-fits.js';
import { readableRunId } from './start.js';

/** The plan as an operator reads it before starting; with estimates, each group's window and the total. */
export function formatPlan(plan: UpgradePlan, estimates?: WindowEstimates, notAfter?: string): string {
  const lines = [
    `Plan: ${plan.cluster} → ${plan.targetVersion}: ${plan.upgradeCount} to upgrade, ${plan.skipCount} to skip; maintenance mode on ${plan.coreNode}`,
    `Role order: ${plan.roleOrder.join(', ')}`,
  ];
  const window = estimates === undefined ? undefined : planWindow(plan.groups, estimates);
  plan.groups.forEach((g, i) => {
    lines.push('');
    const about = window === undefined ? '' : `, about ${formatSeconds(window.groups[i]?.seconds ?? 0)}`;
    lines.push(
      `${i + 1}. group ${g.role} (${g.nodes.length} node${g.nodes.length > 1 ? 's' : ''}, ${g.concurrency} at a time${g.limitedBy ? `: ${g.limitedBy}` : ''}${about})`,
    );
    lines.push(
      ...table([
        ['   NODE', 'ROLES', 'FROM', 'TO', 'ACTION', 'WHY'],
        ...g.nodes.map((n) => [`   ${n.id}`, n.roles.join(',') || '—', n.from ?? '?', n.to, n.action, n.reason]),
      ]),
    );
  });
  const left = plan.notInRun ?? [];
  if (left.length > 0) {
    const more = left.length > 20 ? `, and ${left.length - 20} more` : '';
    lines.push('', `Not in this run (only): ${left.length} node${left.length > 1 ? 's' : ''}, left alone: ${left.slice(0, 20).join(', ')}${more}`);
  }
  if (window !== undefined && estimates !== undefined) {
    lines.push('');
    const source =
      estimates.samples > 0
        ? `from ${estimates.samples} node durations of the cluster's recent runs (90th percentile per role)`
        : `from the default of ${formatSeconds(DEFAULT_NODE_WINDOW_SECONDS)} per node (no recorded run; --recorded reads the stack's)`;
    lines.push(`Estimated window: about ${formatSeconds(window.totalSeconds)}, ${source}`);
    if (notAfter !== undefined) {
      const ends = new Date(Date.now() + window.totalSeconds * 1000);
      lines.push(
        ends.getTime() <= Date.parse(notAfter)
          ? `Not after ${notAfter}: fits if started now (ends about ${ends.toISOString()})`
          : `Not after ${notAfter}: does not fit if started now (ends about ${ends.toISOString()}); nodes that cannot finish in time will not start and the run ends INCOMPLETE`,
      );
    }
  }
  return lines.join('\n');
}

export function planCommand(): Command {
  return addInputOptions(new Command('plan'))
    .description("Show what a run would do — groups in role order, each node's current → target version, skip reasons — touching nothing.")
    .option('--recorded', "take current versions from the stack's DynamoDB records (default: the cluster file's versions; always, for a cluster given by name)")
    .option('--json', 'print the plan as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  fleet-upgrade plan --cluster examples/demo-cluster.json --target-version 3.1.0',
        '  fleet-upgrade plan --cluster prod-als --target-version 3.2.0          # nodes found by their fleet-upgrade:cluster tag',
        '  fleet-upgrade plan --input upgrade.json --recorded --json',
        '  fleet-upgrade plan --cluster prod-als.json --target-version 3.2.0 --recorded --not-after +4h',
        '',
        'Exit codes: 0 ok, 2 bad input.',
      ].join('\n'),
    )
    .action(async (flags: InputFlags & { recorded?: boolean; json?: boolean }, command: Command) => {
      const { input, cluster } = await buildInput(flags);
      let known = new Map<string, string>(cluster?.nodes.map((n) => [n.id, n.version]) ?? []);
      let estimates = windowEstimates([]);
      // A cluster given by name: its nodes are found by tag, as the run finds them, and their versions are the recorded ones.
      const discovered = input.nodes === undefined;
      let nodes = input.nodes;
      if (flags.recorded || discovered) {
        const clients = new StackClients(globalFlags(command));
        try {
          if (discovered) {
            const tagging = new ResourceGroupsTaggingAPIClient(clients.config);
            const ssm = new SSMClient(clients.config);
            try {
              nodes = await discoverNodes(input.cluster, { tagging, ssm });
            } finally {
              tagging.destroy();
              ssm.destroy();
            }
          }
          const store = await clients.store();
          known = await store.knownVersions(input.cluster);
          // The same durations the window cutoff judges by.
          estimates = estimatesFrom(await new WindowStore(new Table(clients.db, await clients.tableName())).recentDurations(input.cluster));
        } finally {
          clients.destroy();
        }
      }
      if (nodes === undefined) throw new UsageError("nodes: the plan needs the cluster's nodes (--cluster NAME|FILE, or nodes in --input)");
      const plan = planUpgrade(input, nodes, known);
      refuseOversizedInput(input, readableRunId(input.cluster, input.targetVersion), plan);
      const window = { ...planWindow(plan.groups, estimates), estimates, ...(input.notAfter !== undefined ? { notAfter: input.notAfter } : {}) };
      process.stdout.write(`${flags.json ? JSON.stringify({ ...plan, estimatedWindow: window }, null, 2) : formatPlan(plan, estimates, input.notAfter)}\n`);
    });
}
