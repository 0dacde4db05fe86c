import { hostname, userInfo } from 'node:os';
import { Argument, Command } from 'commander';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { APPROVAL_ID_PATTERN, DECISIONS, DECISION_HELP, decisionHelp, nodeNames, type AnyDecision } from '../core/approval.js';
import { CANARY_DECISIONS, CANARY_DECISION_HELP } from '../core/canary.js';
import { HEALTH_DECISIONS } from '../core/health.js';
import { ApprovalNotOpenError, DecisionNotOfferedError, decideApproval } from '../adapters/approvals.js';
import type { StoredApproval } from '../adapters/store.js';
import { globalFlags, StackClients, type GlobalFlags } from './aws.js';
import { EXIT_RUN_FAILED, UsageError } from './errors.js';

/** The stack's clients; the table is `--table`, else `TABLE_NAME`, else the stack's TableName output. */
function clientsFor(command: Command): { clients: StackClients; flags: GlobalFlags } {
  const flags = globalFlags(command);
  const table = flags.table ?? (process.env.TABLE_NAME || undefined);
  if (table !== undefined && !/^[A-Za-z0-9_.-]{3,255}$/.test(table))
    throw new UsageError(`--table: expected a DynamoDB table name, got ${JSON.stringify(table)}`);
  const resolved = { ...flags, ...(table === undefined ? {} : { table }) };
  return { clients: new StackClients(resolved), flags: resolved };
}

const AWS_HELP =
  '\nAWS: the usual credential/region chain (AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SFN point elsewhere);\nthe table is --table, else TABLE_NAME, else the TableName output of --stack.';

/** What an operator may see of an approval: everything but the task token (and the item's bookkeeping). */
function visible(a: StoredApproval): Omit<StoredApproval, 'taskToken' | 'ttl' | 'state'> {
  const { taskToken: _token, ttl: _ttl, state: _state, ...rest } = a;
  return rest;
}

function describe(a: StoredApproval): string {
  if (a.kind === 'health') {
    return [
      `${a.approvalId}`,
      `  cluster ${a.cluster}, run ${a.runId}: health alarm firing; continue or abort?`,
      ...(a.alarms ?? []).map((x) => `  alarm ${x.name}: ${x.reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 200)}`),
      `  changed since the gate last passed: ${nodeNames(a.changedSince ?? [])}; waiting to start: ${nodeNames(a.held ?? [])}`,
      `  waiting since ${a.createdAt}; at ${a.expiresAt} the run decides abort`,
      `  decide: fleet-upgrade decide ${a.approvalId} ${HEALTH_DECISIONS.join('|')}`,
    ].join('\n');
  }
  if (a.kind === 'canary') {
    return [
      `${a.approvalId}`,
      `  cluster ${a.cluster}, run ${a.runId}: the canary is upgraded (${nodeNames(a.upgraded)}); continue or abort?`,
      `  waiting to start: ${nodeNames(a.held ?? [])}`,
      `  waiting since ${a.createdAt}; at ${a.expiresAt} the run decides abort`,
      `  decide: fleet-upgrade decide ${a.approvalId} ${CANARY_DECISIONS.join('|')}`,
    ].join('\n');
  }
  return [
    `${a.approvalId}`,
    `  cluster ${a.cluster}, run ${a.runId}`,
    `  node ${a.nodeId} (${a.roles.join(', ')}) failed at ${a.failedStep}, exit code ${a.exitCode ?? 'none'}; ${a.from ?? 'unknown'} → ${a.to}; backup ${a.backupId ?? 'none'}`,
    `  already upgraded: ${nodeNames(a.upgraded)}`,
    ...(a.held === undefined
      ? []
      : [`  held until you decide (not started): ${nodeNames(a.held)}; finishing their current node: ${nodeNames(a.inFlight ?? [])}`]),
    `  waiting since ${a.createdAt}; at ${a.expiresAt} the run decides ${a.onTimeout}`,
    ...a.outputTail
      .split('\n')
      .filter((l) => l !== '')
      .slice(-5)
      .map((l) => `  | ${l}`),
    `  decide: fleet-upgrade decide ${a.approvalId} ${DECISIONS.join('|')}`,
  ].join('\n');
}

/** `fleet-upgrade approvals`: what waits for a human, oldest first. */
export function approvalsCommand(): Command {
  return new Command('approvals')
    .description("List approvals waiting for a decision (a node's step failed and the run waits).")
    .option('--json', 'print the approvals as JSON')
    .addHelpText('after', `${AWS_HELP}\nExit codes: 0 listed, 1 the table could not be read, 2 bad usage.`)
    .action(async (flags: { json?: boolean }, command: Command) => {
      const { clients } = clientsFor(command);
      try {
        const pending = await (await clients.store()).pendingApprovals();
        if (flags.json) process.stdout.write(`${JSON.stringify(pending.map(visible), null, 2)}\n`);
        else process.stdout.write(pending.length === 0 ? 'No approval is waiting.\n' : `${pending.map(describe).join('\n\n')}\n`);
      } finally {
        clients.destroy();
      }
    });
}

/**
 * Who decides from the CLI: the caller's AWS identity (STS GetCallerIdentity) when it can be had
 * within a few seconds, else the OS user on this host (also with `null`: a local endpoint has no identities).
 */
export async function callerIdentity(sts: STSClient | null = new STSClient({ maxAttempts: 1 }), command = 'decide'): Promise<string> {
  try {
    const out = await sts?.send(new GetCallerIdentityCommand({}), { abortSignal: AbortSignal.timeout(3000) });
    if (out?.Arn) return `${out.Arn} (fleet-upgrade ${command})`;
  } catch {
    // No credentials, no region or no network: the OS user is the best we know.
  } finally {
    sts?.destroy();
  }
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown user';
  }
  return `${user}@${hostname()} (fleet-upgrade ${command}, no AWS identity)`;
}

/** `fleet-upgrade decide <approval-id> <decision>`: decides once, with the caller's credentials. */
export function decideCommand(): Command {
  return new Command('decide')
    .description('Decide a waiting approval with your AWS credentials, recording who decided.')
    .addArgument(new Argument('<approval-id>', 'the approval id (from the email or `fleet-upgrade approvals`)'))
    .addArgument(
      new Argument(
        '<decision>',
        [...DECISIONS.map((d) => `${d}: ${DECISION_HELP[d]}`), 'after the canary:', ...CANARY_DECISIONS.map((d) => `${d}: ${CANARY_DECISION_HELP[d]}`)].join(
          '\n',
        ),
      ).choices([...new Set<string>([...DECISIONS, ...CANARY_DECISIONS])]),
    )
    .addHelpText(
      'after',
      `${AWS_HELP}\nExit codes: 0 decided, 1 not open (unknown, already decided, expired, or too late: the run stopped waiting first — the message says which), 2 bad usage.`,
    )
    .action(async (approvalId: string, decision: AnyDecision, _flags: unknown, command: Command) => {
      if (!APPROVAL_ID_PATTERN.test(approvalId)) {
        throw new UsageError(`<approval-id>: expected lowercase letters, digits and dashes (8 to 64), got ${JSON.stringify(approvalId)}`);
      }
      const { clients, flags } = clientsFor(command);
      try {
        const store = await clients.store();
        const decidedBy = await callerIdentity(
          flags.endpoint === undefined ? new STSClient({ maxAttempts: 1, ...(flags.region ? { region: flags.region } : {}) }) : null,
        );
        const decided = await decideApproval({ store, sfn: clients.sfn }, approvalId, decision, decidedBy, new Date());
        process.stdout.write(
          `Decided ${decision} for node ${decided.nodeId} of run ${decided.runId} (cluster ${decided.cluster}), by ${decidedBy} at ${decided.decidedAt}.\n${decisionHelp(decided, decision)}\n`,
        );
      } catch (error) {
        if (!(error instanceof ApprovalNotOpenError) && !(error instanceof DecisionNotOfferedError)) throw error;
        process.stderr.write(`fleet-upgrade: ${error.message}\n`);
        process.exitCode = EXIT_RUN_FAILED;
      } finally {
        clients.destroy();
      }
    });
}
