import { Command } from 'commander';
import { formatReport, overall, type CheckResult } from '../core/doctor.js';
import { VERSION_PATTERN } from '../core/version.js';
import { globalFlags, StackClients } from './aws.js';
import {
  checkArtifacts,
  checkCredentials,
  checkDocument,
  checkNodes,
  checkPermissions,
  checkStack,
  checkSubscriptions,
  doctorClients,
  type DoctorContext,
} from './doctor-checks.js';
import { EXIT_OK, EXIT_RUN_FAILED, UsageError } from './errors.js';
import { checkCluster } from './fleet-records.js';

/** `fleet-upgrade doctor`: a preflight against the real account and cluster, item by item. */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description(
      'Check, item by item, what is ready for a run and what is not: credentials and region, the stack and its outputs, the SSM document, each node of the cluster (tags, SSM ' +
        "agent online), approver subscriptions, approval sign-in, the functions' permissions (IAM policy simulator), and optionally that a node reaches the package repository.",
    )
    .requiredOption('--cluster <name|file>', 'the cluster (its nodes carry fleet-upgrade:cluster=<name>), or a cluster file (its name is read)')
    .option('--probe-artifacts <version>', 'also ask one node (SSM AWS-RunShellScript, your credentials) to fetch <artifactBaseUrl>/<version>/SHA256SUMS')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  fleet-upgrade doctor --cluster prod-als
  fleet-upgrade doctor --cluster prod-als --probe-artifacts 3.1.0 --json

Read-only, except --probe-artifacts, which runs one curl on one node.
Exit codes: 0 ready (warnings allowed), 1 a problem (each is named, with what to do), 2 bad usage.`,
    )
    .action(async (flags: { cluster: string; probeArtifacts?: string; json?: boolean }, command: Command) => {
      const cluster = checkCluster(flags.cluster);
      if (flags.probeArtifacts !== undefined && !VERSION_PATTERN.test(flags.probeArtifacts)) {
        throw new UsageError(`--probe-artifacts: expected a version like 3.1.0, got ${JSON.stringify(flags.probeArtifacts)}`);
      }
      const global = globalFlags(command);
      const stack = new StackClients(global);
      const c = doctorClients(stack.config);
      const ctx: DoctorContext = { outputs: {}, roles: {}, nodes: [] };
      const results: CheckResult[] = [];
      try {
        results.push(await checkCredentials(c, ctx));
        results.push(...(await checkStack(c, global.stack, ctx)));
        results.push(await checkDocument(c, ctx));
        results.push(...(await checkNodes(c, cluster, ctx)));
        results.push(await checkSubscriptions(c, ctx, (region) => stack.sns(region)));
        results.push(...(await checkPermissions(c, cluster, ctx)));
        if (flags.probeArtifacts !== undefined) results.push(await checkArtifacts(c, flags.probeArtifacts, ctx));
      } finally {
        stack.destroy();
        for (const client of Object.values(c)) client.destroy();
      }
      if (flags.json) process.stdout.write(`${JSON.stringify({ cluster, ...overall(results), checks: results }, null, 2)}\n`);
      else process.stdout.write(`${formatReport(results)}\n`);
      process.exitCode = overall(results).ready ? EXIT_OK : EXIT_RUN_FAILED;
    });
}
