import { Command, Option } from 'commander';
import { InputValidationError } from '../core/errors.js';
import { STEP_IDS, isStepId } from '../core/steps.js';
import { isAnyDecision, type AnyDecision } from '../core/approval.js';
import { parseApprovers } from '../core/approvers.js';
import type { InjectedFailure } from '../local/ssm-endpoint.js';
import { readClusterFile } from '../local/cluster-file.js';
import { EXIT_OK, EXIT_RUN_FAILED, UsageError } from './errors.js';
import { formatSummary } from './format-summary.js';
import { parseNodeIds } from './input-flags.js';
import { addPolicyOptions, type PolicyFlags } from './policy-flags.js';

/** The fault that is not a step: the node's download meets packages signed by another key. */
const SIGNATURE_FAULT = 'signature';

/**
 * `--fail NODE:STEP[:TIMES]` → an injected failure (TIMES defaults to always); `--fail NODE:signature[:TIMES]`
 * serves that node's download an impostor's packages, signed by another key.
 */
export function parseFailure(value: string, previous: InjectedFailure[] = []): InjectedFailure[] {
  const [nodeId = '', what = '', times, ...rest] = value.split(':');
  if (nodeId === '' || !(isStepId(what) || what === SIGNATURE_FAULT) || rest.length > 0 || (times !== undefined && !/^[1-9][0-9]{0,3}$/.test(times))) {
    throw new UsageError(
      `--fail: expected NODE:STEP[:TIMES] with STEP one of ${STEP_IDS.join(', ')}, or NODE:${SIGNATURE_FAULT}[:TIMES], got ${JSON.stringify(value)}`,
    );
  }
  const count = times === undefined ? Number.POSITIVE_INFINITY : Number(times);
  if (what === SIGNATURE_FAULT) return [...previous, { nodeId, step: 'download', times: count, kind: 'signature' }];
  return [...previous, { nodeId, step: what, times: count }];
}

/** `dea=4,unmatched=2` (numbers) or, for minHealthy, `dea=75%,router=2`; the schema checks roles and values. */
function parseRoleValues(flag: string, percentAllowed: boolean) {
  return (value: string): Record<string, number | string> => {
    const out: Record<string, number | string> = {};
    for (const part of value.split(',')) {
      const match = /^([^=]+)=([0-9]{1,4}%?)$/.exec(part.trim());
      if (match === null || (!percentAllowed && match[2]?.endsWith('%'))) {
        throw new UsageError(
          `${flag}: expected ROLE=N[,ROLE=N…]${percentAllowed ? ' (N a count or a percentage like 75%)' : ''}, got ${JSON.stringify(value)}`,
        );
      }
      const [, role = '', n = ''] = match;
      out[role] = n.endsWith('%') ? n : Number(n);
    }
    return out;
  };
}

function parseRoleOrder(value: string): string[] {
  return value.split(',').map((r) => r.trim());
}

const APPROVER_EMAIL = /^[^\s@<>(),;:"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

interface RehearseFlags extends PolicyFlags {
  cluster: string;
  targetVersion: string;
  workdir: string;
  roleOrder?: string[];
  force?: boolean;
  ignoreInspectFailures?: boolean;
  prepareOnly?: boolean;
  concurrency?: Record<string, number>;
  minHealthy?: Record<string, number | string>;
  httpsProxy?: string | true;
  runbook?: string;
  template?: string;
  decision?: AnyDecision[];
  approver?: string[];
  approvers?: string;
  signIn: boolean;
  approvalTimeoutMinutes?: number;
  onTimeout?: 'rollback' | 'abort';
  fail?: InjectedFailure[];
  runId?: string;
  resumeFrom?: string;
  pauseAfter?: string;
  resumeAfter?: number;
  pauseLimitMinutes?: number;
  canary?: number;
  alarm?: { name: string; afterNode: string }[];
  json?: boolean;
  only?: string[];
  allowUnusedRoles?: boolean;
}

/** A non-negative number from a flag (minutes or seconds). */
function minutesOrSeconds(flag: string, v: string): number {
  if (!/^[0-9]+(\.[0-9]+)?$/.test(v)) throw new UsageError(`${flag}: expected a number, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function rehearseCommand(): Command {
  return addPolicyOptions(new Command('rehearse'))
    .description('Upgrade a sandbox copy of a cluster on this machine through the synthesized state machine and SSM document (no AWS account).')
    .requiredOption('--cluster <file>', 'cluster file: {"cluster":"demo","nodes":[{"id":"dea-1","roles":["dea"],"version":"3.0.0"}]}')
    .requiredOption('--target-version <version>', 'version to upgrade to, e.g. 3.1.0')
    .option('--workdir <dir>', 'where the sandbox nodes and the table live (emptied first, unless --resume-from)', '.tmp/rehearsal')
    .option('--role-order <roles>', 'comma-separated role order (default dea,controller,router,base,primary)', parseRoleOrder)
    .option('--force', 'upgrade nodes even when already at the target version')
    .option('--ignore-inspect-failures', 'record failed pre- and post-upgrade validations as warnings and go on (kato --ignore-inspect-failures)')
    .option('--concurrency <role=n,…>', 'nodes of a role upgraded at once, e.g. dea=4,unmatched=2 (default 1 each)', parseRoleValues('--concurrency', false))
    .option(
      '--min-healthy <role=n|p%,…>',
      'nodes of a role kept in service while its group upgrades, e.g. dea=75%,router=2',
      parseRoleValues('--min-healthy', true),
    )
    .option('--prepare-only', 'check every node and stage the package where needed, then stop: no maintenance window (kato --prepare)')
    .option('--https-proxy [url]', 'serve packages only through a loopback proxy given to the nodes as HTTPS_PROXY (optionally http://127.0.0.1:PORT)')
    .option(
      '--runbook <name>',
      'runbook the SSM document is built from: release-dir, or kato (each sandbox then a simulated ALS node with its own kato: docs/rehearsal.md)',
      'release-dir',
    )
    .option(
      '--template <file>',
      'rehearse this synthesized template (what `cdk synth` wrote, e.g. cdk.out/FleetUpgradeStack.template.json) instead of synthesizing one: its state machine, SSM document and IAM policies',
    )
    .addOption(
      new Option(
        '--decision <decision>',
        'answer approval requests in order: rollback, retry, skip or abort (a failed node), continue or abort (the canary, a health alarm); repeatable (default: wait for a decision)',
      ).argParser((value: string, previous: AnyDecision[] = []) => {
        if (!isAnyDecision(value))
          throw new UsageError(`--decision: expected rollback, retry, skip, abort or (for the canary) continue, got ${JSON.stringify(value)}`);
        return [...previous, value];
      }),
    )
    .option(
      '--approver <email>',
      'sign in as EMAIL to answer the approvals (the local OpenID provider; alice@example.com by default); repeatable: one per --decision, in order, the last one stays',
      (value: string, previous: string[] = []) => {
        if (!APPROVER_EMAIL.test(value)) throw new UsageError(`--approver: expected an email address like alice@example.com, got ${JSON.stringify(value)}`);
        return [...previous, value.toLowerCase()];
      },
    )
    .option(
      '--approvers <list>',
      'who may decide: comma-separated emails and group:NAME (default group:fleet-operators: alice and carol, not bob)',
      (value: string) => {
        try {
          parseApprovers(value, '--approvers');
        } catch (error) {
          throw new UsageError(error instanceof Error ? error.message : String(error));
        }
        return value;
      },
    )
    .option('--no-sign-in', 'no sign-in on the approval page: anyone holding the link decides (as a stack without approvalIssuer)')
    .option('--approval-timeout-minutes <minutes>', 'how long an approval waits before --on-timeout decides (default 1440)', (v: string) => {
      if (!/^[0-9]+(\.[0-9]+)?$/.test(v)) throw new UsageError(`--approval-timeout-minutes: expected a number of minutes, got ${JSON.stringify(v)}`);
      return Number(v);
    })
    .addOption(new Option('--on-timeout <decision>', 'what a timed-out approval decides').choices(['rollback', 'abort']))
    .addOption(
      new Option(
        '--fail <node:step[:times]>',
        'make STEP fail on NODE (TIMES times, default always), or NODE:signature to serve NODE packages signed by another key; repeatable',
      ).argParser(parseFailure),
    )
    .option('--run-id <id>', 'the run id (execution name); default <cluster>-<version>-<timestamp>')
    .option('--resume-from <run>', 'resume this stopped run, as `start --resume-from` does in AWS: same --workdir, whose sandboxes and table it left')
    .option('--canary <n>', 'after the first N nodes are upgraded, the run asks continue or abort (answered by --decision continue|abort)', (v: string) => {
      if (!/^[1-9][0-9]*$/.test(v)) throw new UsageError(`--canary: expected a whole number of nodes (at least 1), got ${JSON.stringify(v)}`);
      return Number(v);
    })
    .option(
      '--alarm <name:after=node>',
      'the local CloudWatch puts alarm NAME in ALARM once NODE is upgraded (with --health-alarm NAME); repeatable',
      (value: string, previous: { name: string; afterNode: string }[] = []) => {
        const match = /^(.+):after=([A-Za-z0-9][A-Za-z0-9._-]{0,62})$/.exec(value);
        if (match === null) throw new UsageError(`--alarm: expected NAME:after=NODE, e.g. api-5xx:after=dea-1, got ${JSON.stringify(value)}`);
        return [...previous, { name: match[1] as string, afterNode: match[2] as string }];
      },
    )
    .option('--pause-after <node>', 'the operator pauses the run (fleet-upgrade pause) as soon as NODE has started: it finishes, no other node starts')
    .option(
      '--resume-after <seconds>',
      'with --pause-after: the operator resumes (fleet-upgrade resume) this many seconds after pausing (default: never, the pause runs to its limit)',
      (v: string) => minutesOrSeconds('--resume-after', v),
    )
    .option('--pause-limit-minutes <minutes>', 'how long a pause may hold the run before it stops as abort does (default 1440)', (v: string) =>
      minutesOrSeconds('--pause-limit-minutes', v),
    )
    .option('--json', 'print only the summary as JSON on stdout (progress goes to stderr)')
    .option('--only <ids>', 'upgrade only these nodes, comma-separated (kato node upgrade); the others are left alone', parseNodeIds)
    .option('--allow-unused-roles', 'accept roles in --role-order that no node of the cluster has (else refused as a likely typo)')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0',
        '  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0 --fail dea-2:upgrade --decision rollback --json',
        '  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0 --fail dea-2:upgrade ' +
          '--decision rollback --approver bob@example.com --decision rollback --approver alice@example.com',
        '  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0 --fail dea-2:signature --json',
        '  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0 --resume-from <run id of a stopped rehearsal>',
        '  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0 --https-proxy --ignore-inspect-failures',
        '  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0 --pause-after dea-1 --resume-after 10',
        '  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0 --canary 1 --decision continue',
        '  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0 --only dea-1,controller-1',
        '  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0 --fail dea-2:upgrade --on-failure rollback-and-continue --max-failed-nodes 1',
        '  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0 --not-after +90m',
        '  fleet-upgrade rehearse --cluster examples/demo-cluster.json --target-version 3.1.0 --health-alarm api-5xx --alarm api-5xx:after=dea-1 --decision abort',
        '',
        'Exit codes: 0 succeeded, 1 the run ended otherwise, 2 bad input (nothing touched).',
      ].join('\n'),
    )
    .action(async (flags: RehearseFlags) => {
      const cluster = await readClusterFile(flags.cluster);
      for (const f of flags.fail ?? []) {
        if (!cluster.nodes.some((n) => n.id === f.nodeId)) {
          throw new InputValidationError(`--fail: node ${f.nodeId} is not in ${flags.cluster}`, 'fail');
        }
      }
      // Said before the import, which takes seconds: the operator sees at once that the rehearsal is starting.
      process.stderr.write(`Rehearsing ${cluster.cluster} → ${flags.targetVersion}: loading the local stand-ins for AWS\n`);
      // Loaded on use: the rehearsal brings the CDK synth, which the other commands do not need at start-up.
      const { rehearse } = await import('../local/rehearsal.js');
      // Ctrl-C (or SIGTERM) stops the run as `fleet-upgrade stop` would: the step under way finishes, a node
      // caught mid-upgrade is rolled back, maintenance mode goes off, the lock is released, the sandbox
      // services stop. A second Ctrl-C quits at once.
      const controller = new AbortController();
      const interrupted = (signal: NodeJS.Signals) => {
        if (controller.signal.aborted) {
          process.stderr.write(
            `${signal} again: quitting without cleaning up (the sandbox services keep running until the next rehearsal in ${flags.workdir} starts)\n`,
          );
          process.exit(130);
        }
        process.stderr.write(`${signal}: stopping the run safely (Ctrl-C again to quit at once)\n`);
        controller.abort(`the rehearsal was interrupted (${signal})`);
      };
      process.on('SIGINT', interrupted);
      process.on('SIGTERM', interrupted);
      const result = await rehearse({
        signal: controller.signal,
        cluster,
        targetVersion: flags.targetVersion,
        workdir: flags.workdir,
        ...(flags.roleOrder ? { roleOrder: flags.roleOrder } : {}),
        ...(flags.force ? { force: true } : {}),
        ...(flags.ignoreInspectFailures ? { ignoreInspectFailures: true } : {}),
        ...(flags.prepareOnly ? { prepareOnly: true } : {}),
        ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
        ...(flags.minHealthy ? { minHealthy: flags.minHealthy } : {}),
        ...(flags.httpsProxy !== undefined ? { httpsProxy: flags.httpsProxy } : {}),
        ...(flags.runbook ? { runbook: flags.runbook } : {}),
        ...(flags.template ? { template: flags.template } : {}),
        ...(flags.decision ? { decisions: flags.decision } : {}),
        ...(flags.approver ? { decideAs: flags.approver } : {}),
        ...(flags.approvers ? { approvers: flags.approvers } : {}),
        ...(flags.signIn ? {} : { signIn: false }),
        ...(flags.approvalTimeoutMinutes !== undefined ? { approvalTimeoutMinutes: flags.approvalTimeoutMinutes } : {}),
        ...(flags.onTimeout ? { onTimeout: flags.onTimeout } : {}),
        ...(flags.fail ? { failures: flags.fail } : {}),
        ...(flags.runId ? { runId: flags.runId } : {}),
        ...(flags.resumeFrom ? { resumeFrom: flags.resumeFrom } : {}),
        ...(flags.only ? { only: flags.only } : {}),
        ...(flags.allowUnusedRoles ? { allowUnusedRoles: true } : {}),
        ...(flags.pauseAfter ? { pauseAfter: flags.pauseAfter } : {}),
        ...(flags.resumeAfter !== undefined ? { resumeAfterSeconds: flags.resumeAfter } : {}),
        ...(flags.pauseLimitMinutes !== undefined ? { pauseLimitMinutes: flags.pauseLimitMinutes } : {}),
        ...(flags.canary !== undefined ? { canary: flags.canary } : {}),
        ...(flags.onFailure ? { onFailure: flags.onFailure } : {}),
        ...(flags.maxFailedNodes !== undefined ? { maxFailedNodes: flags.maxFailedNodes } : {}),
        ...(flags.notAfter ? { notAfter: flags.notAfter } : {}),
        ...(flags.healthAlarm ? { healthAlarms: flags.healthAlarm } : {}),
        ...(flags.bakeSeconds !== undefined ? { bakeSeconds: flags.bakeSeconds } : {}),
        ...(flags.alarm ? { alarms: flags.alarm } : {}),
        progress: (line) => process.stderr.write(`${line}\n`),
      }).finally(() => {
        process.off('SIGINT', interrupted);
        process.off('SIGTERM', interrupted);
      });
      if (flags.json) process.stdout.write(`${JSON.stringify(result.summary, null, 2)}\n`);
      else process.stdout.write(`${formatSummary(result.summary, { wholeSeconds: process.uptime() })}\n`);
      process.exitCode = result.summary.status === 'SUCCEEDED' || result.summary.status === 'PREPARED' ? EXIT_OK : EXIT_RUN_FAILED;
    });
}
