import { Command } from 'commander';
import { planUpgrade, type UpgradePlan } from '../core/plan.js';
import { UsageError } from './errors.js';
import { globalFlags, StackClients } from './aws.js';
import { addInputOptions, buildInput, type InputFlags } from './input-flags.js';
import { table } from './table.js';
import { refuseOversizedInput } from './run-fits.js';
import { readableRunId } from './start.js';

/** The plan as an operator reads it before starting. */
export function formatPlan(plan: UpgradePlan): string {
  const lines = [`Plan: ${plan.cluster} → ${plan.targetVersion}: ${plan.upgradeCount} to upgrade, ${plan.skipCount} to skip; maintenance mode on ${plan.coreNode}`, `Role order: ${plan.roleOrder.join(', ')}`];
  plan.groups.forEach((g, i) => {
    lines.push('');
    lines.push(`${i + 1}. group ${g.role} (${g.nodes.length} node${g.nodes.length > 1 ? 's' : ''}, ${g.concurrency} at a time${g.limitedBy ? `: ${g.limitedBy}` : ''})`);
    lines.push(...table([['   NODE', 'ROLES', 'FROM', 'TO', 'ACTION', 'WHY'], ...g.nodes.map((n) => [`   ${n.id}`, n.roles.join(',') || '—', n.from ?? '?', n.to, n.action, n.reason])]));
  });
  const left = plan.notInRun ?? [];
  if (left.length > 0) {
    const more = left.length > 20 ? `, and ${left.length - 20} more` : '';
    lines.push('', `Not in this run (only): ${left.length} node${left.length > 1 ? 's' : ''}, left alone: ${left.slice(0, 20).join(', ')}${more}`);
  }
  return lines.join('\n');
}

export function planCommand(): Command {
  return addInputOptions(new Command('plan'))
    .description('Show what a run would do — groups in role order, each node\'s current → target version, skip reasons — touching nothing.')
    .option('--recorded', 'take current versions from the stack\'s DynamoDB records (default: the cluster file\'s versions)')
    .option('--json', 'print the plan as JSON')
    .addHelpText('after', '\nExamples:\n  fleet-upgrade plan --cluster examples/demo-cluster.json --target-version 3.1.0\n  fleet-upgrade plan --input upgrade.json --recorded --json\n\nExit codes: 0 ok, 2 bad input.')
    .action(async (flags: InputFlags & { recorded?: boolean; json?: boolean }, command: Command) => {
      const { input, cluster } = await buildInput(flags);
      if (input.nodes === undefined) throw new UsageError('nodes: the plan needs the cluster\'s nodes (--cluster FILE, or nodes in --input)');
      let known = new Map<string, string>(cluster?.nodes.map((n) => [n.id, n.version]) ?? []);
      if (flags.recorded) {
        const clients = new StackClients(globalFlags(command));
        try {
          known = await (await clients.store()).knownVersions(input.cluster);
        } finally {
          clients.destroy();
        }
      }
      const plan = planUpgrade(input, input.nodes, known);
      refuseOversizedInput(input, readableRunId(input.cluster, input.targetVersion), plan);
      process.stdout.write(`${flags.json ? JSON.stringify(plan, null, 2) : formatPlan(plan)}\n`);
    });
}
