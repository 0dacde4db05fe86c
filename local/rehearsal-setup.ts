import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseInput, type UpgradeInput } from '../core/input-schema.js';
import { InputValidationError } from '../core/errors.js';
import type { RehearsalOptions } from './rehearsal-options.js';
import { AwsJsonError, type JsonOperation } from './json-protocol.js';
import { localArns } from './state-machine-runner.js';

const RUNBOOKS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'runbooks');

/** A readable, unique run id: `demo-3.1.0-20261124T103000`. */
export function defaultRunId(cluster: string, version: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
  return `${cluster}-${version}-${stamp}`.slice(0, 80);
}

/** The execution input a rehearsal sends: the public contract, built from the cluster file and options. */
export function rehearsalInput(
  opts: Pick<
    RehearsalOptions,
    | 'cluster'
    | 'targetVersion'
    | 'roleOrder'
    | 'force'
    | 'ignoreInspectFailures'
    | 'prepareOnly'
    | 'concurrency'
    | 'minHealthy'
    | 'approvalTimeoutMinutes'
    | 'onTimeout'
    | 'resumeFrom'
    | 'only'
    | 'allowUnusedRoles'
    | 'pauseLimitMinutes'
    | 'canary'
    | 'onFailure'
    | 'maxFailedNodes'
    | 'notAfter'
    | 'healthAlarms'
    | 'bakeSeconds'
  > & {
    httpsProxy?: string;
  },
): UpgradeInput {
  return parseInput({
    cluster: opts.cluster.cluster,
    targetVersion: opts.targetVersion,
    nodes: opts.cluster.nodes.map((n) => ({ id: n.id, roles: n.roles })),
    ...(opts.roleOrder ? { roleOrder: opts.roleOrder } : {}),
    ...(opts.force ? { force: true } : {}),
    ...(opts.ignoreInspectFailures ? { ignoreInspectFailures: true } : {}),
    ...(opts.prepareOnly ? { prepareOnly: true } : {}),
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    ...(opts.approvalTimeoutMinutes !== undefined || opts.onTimeout !== undefined
      ? {
          approval: {
            ...(opts.approvalTimeoutMinutes !== undefined ? { timeoutMinutes: opts.approvalTimeoutMinutes } : {}),
            ...(opts.onTimeout ? { onTimeout: opts.onTimeout } : {}),
          },
        }
      : {}),
    ...(opts.minHealthy ? { minHealthy: opts.minHealthy } : {}),
    ...(opts.resumeFrom ? { resumeFrom: opts.resumeFrom } : {}),
    ...(opts.httpsProxy ? { httpsProxy: opts.httpsProxy } : {}),
    ...(opts.only ? { only: opts.only } : {}),
    ...(opts.allowUnusedRoles ? { allowUnusedRoles: true } : {}),
    ...(opts.pauseLimitMinutes !== undefined ? { pauseLimitMinutes: opts.pauseLimitMinutes } : {}),
    ...(opts.canary !== undefined ? { canary: opts.canary } : {}),
    ...(opts.onFailure ? { onFailure: opts.onFailure } : {}),
    ...(opts.maxFailedNodes !== undefined ? { maxFailedNodes: opts.maxFailedNodes } : {}),
    ...(opts.notAfter ? { notAfter: opts.notAfter } : {}),
    ...(opts.healthAlarms ? { healthAlarms: opts.healthAlarms } : {}),
    ...(opts.bakeSeconds !== undefined ? { bakeSeconds: opts.bakeSeconds } : {}),
  });
}

/** The port the rehearsal's own proxy listens on: 0 (any) for `true`, else the port of a loopback URL. */
export function rehearsalProxyPort(value: string | true): number {
  if (value === true) return 0;
  const match = /^http:\/\/(?:127\.0\.0\.1|localhost):([0-9]{1,5})\/?$/.exec(value);
  const port = Number(match?.[1]);
  if (match === null || port < 1 || port > 65_535) {
    throw new InputValidationError(
      `httpsProxy: the rehearsal runs its own proxy on loopback; give --https-proxy alone or as http://127.0.0.1:PORT, got ${JSON.stringify(value)}`,
      'httpsProxy',
    );
  }
  return port;
}

/** Runbooks are folders under runbooks/; the name reaches a path, so it is held to a pattern first. */
export function checkRunbookName(name: string): string {
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(name) || name === 'shared' || !existsSync(join(RUNBOOKS_DIR, name))) {
    // runbooks/shared holds what every runbook embeds; it is not a runbook of its own.
    const known = existsSync(RUNBOOKS_DIR)
      ? readdirSync(RUNBOOKS_DIR)
          .filter((d) => d !== 'shared')
          .join(', ')
      : 'none';
    throw new InputValidationError(`runbook: expected one of ${known}, got ${JSON.stringify(name)}`, 'runbook');
  }
  return name;
}

/** DescribeExecution of the rehearsal's one execution (the SFN API answers it with the input included). */
export function describeRun(runId: string, input: unknown): JsonOperation {
  return (r) => {
    if (r.executionArn !== localArns().execution(runId))
      throw new AwsJsonError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(r.executionArn)}'`);
    return {
      executionArn: r.executionArn,
      stateMachineArn: localArns().stateMachine,
      name: runId,
      input: JSON.stringify(input),
      inputDetails: { included: true },
    };
  };
}
