import { Command, Option } from 'commander';
import { VERSION_PATTERN } from '../core/version.js';
import { readClusterFile } from '../local/cluster-file.js';
import type { InjectedFailure } from '../local/ssm-endpoint.js';
import { parseFailure } from './rehearse.js';
import { UsageError } from './errors.js';

function parseVersions(value: string): string[] {
  const versions = value.split(',').map((v) => v.trim());
  for (const v of versions) if (!VERSION_PATTERN.test(v)) throw new UsageError(`--versions: expected versions like 3.1.0,3.2.0, got ${JSON.stringify(v)}`);
  return versions;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`--port: expected a port number (0 = any free port), got ${JSON.stringify(value)}`);
  return port;
}

function parseEmails(value: string): string[] {
  const emails = value.split(',').map((e) => e.trim());
  for (const e of emails)
    if (!/^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/.test(e))
      throw new UsageError(`--approver-emails: expected addresses like ops@example.com,oncall@example.com, got ${JSON.stringify(e)}`);
  return emails;
}

export function localCommand(): Command {
  const local = new Command('local').description('The local runtime: the synthesized stack on this machine, no AWS account.');
  local.addCommand(
    new Command('serve')
      .description(
        'Serve the local runtime on loopback: Step Functions (JSON 1.0 subset), DynamoDB (dynalite, open source) and the stack outputs, so every command runs against it with --endpoint.',
      )
      .requiredOption('--cluster <file>', 'cluster file of sandbox nodes: {"cluster":"demo","nodes":[{"id":"dea-1","roles":["dea"],"version":"3.0.0"}]}')
      .requiredOption('--versions <list>', 'versions the local package repository offers, e.g. 3.1.0,3.2.0', parseVersions)
      .option('--port <port>', 'port on 127.0.0.1 (0 = any free port)', parsePort, 4599)
      .option('--workdir <dir>', 'where the sandbox nodes live (emptied first)', '.tmp/local-serve')
      .option(
        '--approver-emails <list>',
        'subscribe these addresses to the local operator topic (as -c approverEmails=), pending until confirmed with confirm-subscription',
        parseEmails,
      )
      .addOption(
        new Option(
          '--fail <node:step[:times]>',
          'make STEP fail on NODE (TIMES times, default always), or NODE:signature to serve NODE packages signed by another key; repeatable',
        ).argParser(parseFailure),
      )
      .addHelpText(
        'after',
        `
Examples:
  fleet-upgrade local serve --cluster examples/demo-cluster.json --versions 3.1.0
  # in another terminal:
  export FLEET_UPGRADE_ENDPOINT=http://127.0.0.1:4599
  fleet-upgrade start --cluster examples/demo-cluster.json --target-version 3.1.0 --watch

Stops on Ctrl-C (SIGINT) or SIGTERM, cleaning up the sandbox services and the local DynamoDB.`,
      )
      .action(async (flags: { cluster: string; versions: string[]; port: number; workdir: string; fail?: InjectedFailure[]; approverEmails?: string[] }) => {
        const cluster = await readClusterFile(flags.cluster);
        // Loaded here: the runtime brings the CDK synth and the handlers, which other commands do not need.
        const { LocalRuntime } = await import('../local/runtime.js');
        const runtime = await LocalRuntime.start({
          cluster,
          versions: flags.versions,
          workdir: flags.workdir,
          port: flags.port,
          ...(flags.fail ? { failures: flags.fail } : {}),
          ...(flags.approverEmails ? { approverEmails: flags.approverEmails } : {}),
        });
        process.stdout.write(`fleet-upgrade local runtime for ${cluster.cluster} (${cluster.nodes.length} nodes) listening on ${runtime.endpoint}\n`);
        process.stdout.write(`  export FLEET_UPGRADE_ENDPOINT=${runtime.endpoint}\n`);
        process.stdout.write(`  state machine ${runtime.stateMachineArn}, table ${runtime.stack.tableName}\n`);
        // What SNS's confirmation email would carry: confirm as in AWS, not by "clicking".
        for (const s of runtime.stack.sns.subscriptions.all) {
          process.stdout.write(
            `  ${s.endpoint}: subscription pending; confirm it with\n    fleet-upgrade confirm-subscription --topic-arn ${s.topicArn} --token ${s.token}\n`,
          );
        }
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        process.stdout.write('shutting down: stopping running executions, sandbox services and the local DynamoDB\n');
        await runtime.close();
      }),
  );
  return local;
}
