import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InputValidationError } from '../core/errors.js';
import { parseInput, type UpgradeInput } from '../core/input-schema.js';
import { readClusterFile, type ClusterFile } from '../local/cluster-file.js';
import { UsageError } from './errors.js';
import { checkCluster, isClusterFile } from './fleet-records.js';
import { addPolicyOptions, policyInput, type PolicyFlags } from './policy-flags.js';

/** Flags that build the execution input (DESIGN "Execution input"), shared by `start` and `plan`. */
export interface InputFlags extends PolicyFlags {
  input?: string;
  cluster?: string;
  targetVersion?: string;
  roleOrder?: string[];
  force?: boolean;
  ignoreInspectFailures?: boolean;
  concurrency?: Record<string, number>;
  httpsProxy?: string;
  coreNode?: string;
  dryRun?: boolean;
  minHealthy?: Record<string, number | string>;
  prepareOnly?: boolean;
  resumeFrom?: string;
  only?: string[];
  allowUnusedRoles?: boolean;
  approvalTimeoutMinutes?: number;
  onTimeout?: 'rollback' | 'abort';
  canary?: number;
  pauseLimitMinutes?: number;
}

/** A number of minutes or nodes from a flag (the schema checks its bounds, naming the field). */
function numberFlag(flag: string, what: string): (value: string) => number {
  return (value) => {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw new UsageError(`${flag}: expected ${what}, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

function parseRoleOrder(value: string): string[] {
  return value.split(',').map((r) => r.trim());
}

/** `--only dea-1,ctl-1` → `["dea-1", "ctl-1"]` (the schema checks the ids against the cluster). */
export function parseNodeIds(value: string): string[] {
  return value.split(',').map((id) => id.trim());
}

/** `--concurrency dea=4,unmatched=2` → `{ dea: 4, unmatched: 2 }` (the schema checks roles and bounds). */
export function parseConcurrency(value: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of value.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*([0-9]+)\s*$/.exec(part);
    if (m === null) throw new UsageError(`--concurrency: expected ROLE=N[,ROLE=N…] like dea=4,unmatched=2, got ${JSON.stringify(value)}`);
    out[m[1] as string] = Number(m[2]);
  }
  return out;
}

/** `--min-healthy dea=75%,router=1` → `{ dea: "75%", router: 1 }`. */
export function parseMinHealthy(value: string): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const part of value.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*([0-9]+%?)\s*$/.exec(part);
    if (m === null) throw new UsageError(`--min-healthy: expected ROLE=N or ROLE=P%[,…] like dea=75%,router=1, got ${JSON.stringify(value)}`);
    const amount = m[2] as string;
    out[m[1] as string] = amount.endsWith('%') ? amount : Number(amount);
  }
  return out;
}

export function addInputOptions(command: Command): Command {
  return addPolicyOptions(command)
    .option('--input <file>', 'the execution input as a JSON file (flags below override its fields)')
    .option(
      '--cluster <name|file>',
      "the cluster: a name (nodes found by their fleet-upgrade:cluster tag) or a cluster file (its name and nodes become the input's)",
    )
    .option('--target-version <version>', 'version to upgrade to, e.g. 3.2.0')
    .option('--role-order <roles>', 'comma-separated role order (default dea,controller,router,base,primary)', parseRoleOrder)
    .option('--force', 'upgrade nodes even when already at the target version')
    .option('--ignore-inspect-failures', 'failed pre- and post-upgrade validations become warnings')
    .option('--concurrency <role=n,…>', 'nodes upgraded at once per role group ("unmatched" = the final group); default 1', parseConcurrency)
    .option('--min-healthy <role=n|p%,…>', 'nodes per role that must stay in service while its group upgrades', parseMinHealthy)
    .option('--prepare-only', 'check every node and stage the package where needed, then stop (no maintenance window)')
    .option('--resume-from <run-id>', 'resume a run that stopped: its upgraded nodes are skipped, an interrupted node restarts from a safe step')
    .option('--https-proxy <url>', 'proxy for package downloads on the nodes (HTTPS_PROXY)')
    .option('--core-node <id>', 'the node that switches maintenance mode (default: the node with role primary)')
    .option('--only <ids>', 'upgrade only these nodes, comma-separated (kato node upgrade); the others are left alone', parseNodeIds)
    .option('--allow-unused-roles', 'accept roles in --role-order that no node of the cluster has (else refused as a likely typo)')
    .option(
      '--approval-timeout-minutes <minutes>',
      'how long a decision waits before --on-timeout decides (default 1440)',
      numberFlag('--approval-timeout-minutes', 'a number of minutes'),
    )
    .option('--on-timeout <decision>', 'what a decision nobody took in time decides: rollback (default) or abort', (v: string) => {
      if (v !== 'rollback' && v !== 'abort') throw new UsageError(`--on-timeout: expected rollback or abort, got ${JSON.stringify(v)}`);
      return v;
    })
    .option('--canary <n>', 'after the first N nodes are upgraded, wait for continue or abort before the rest', numberFlag('--canary', 'a number of nodes'))
    .option(
      '--pause-limit-minutes <minutes>',
      'how long `fleet-upgrade pause` may hold the run before it stops as abort does (default 1440)',
      numberFlag('--pause-limit-minutes', 'a number of minutes'),
    );
}

/** Builds and validates the execution input; bad input throws InputValidationError naming the field. */
export async function buildInput(flags: InputFlags): Promise<{ raw: Record<string, unknown>; input: UpgradeInput; cluster?: ClusterFile }> {
  if (flags.input === undefined && flags.cluster === undefined) throw new UsageError('give the cluster: --cluster NAME|FILE or --input FILE');
  let raw: Record<string, unknown> = {};
  if (flags.input !== undefined) {
    try {
      raw = JSON.parse(await readFile(flags.input, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new InputValidationError(`--input: cannot read ${flags.input} as JSON: ${error instanceof Error ? error.message : String(error)}`, 'input');
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new InputValidationError(`--input ${flags.input}: expected a JSON object`, 'input');
  }
  let cluster: ClusterFile | undefined;
  if (flags.cluster !== undefined && isClusterFile(flags.cluster)) {
    cluster = await readClusterFile(flags.cluster);
    raw = { ...raw, cluster: cluster.cluster, nodes: cluster.nodes.map((n) => ({ id: n.id, roles: n.roles })) };
  } else if (flags.cluster !== undefined) {
    // A name: the run finds its nodes by the fleet-upgrade:cluster tag (no nodes in the input).
    raw = { ...raw, cluster: checkCluster(flags.cluster) };
  }
  raw = {
    ...raw,
    ...(flags.targetVersion !== undefined ? { targetVersion: flags.targetVersion } : {}),
    ...(flags.roleOrder ? { roleOrder: flags.roleOrder } : {}),
    ...(flags.force ? { force: true } : {}),
    ...(flags.ignoreInspectFailures ? { ignoreInspectFailures: true } : {}),
    ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
    ...(flags.httpsProxy !== undefined ? { httpsProxy: flags.httpsProxy } : {}),
    ...(flags.coreNode !== undefined ? { coreNode: flags.coreNode } : {}),
    ...(flags.dryRun ? { dryRun: true } : {}),
    ...(flags.minHealthy ? { minHealthy: flags.minHealthy } : {}),
    ...(flags.prepareOnly ? { prepareOnly: true } : {}),
    ...(flags.resumeFrom ? { resumeFrom: flags.resumeFrom } : {}),
    ...(flags.only ? { only: flags.only } : {}),
    ...(flags.allowUnusedRoles ? { allowUnusedRoles: true } : {}),
    ...(flags.approvalTimeoutMinutes !== undefined || flags.onTimeout !== undefined
      ? {
          approval: {
            ...((raw.approval as object | undefined) ?? {}),
            ...(flags.approvalTimeoutMinutes !== undefined ? { timeoutMinutes: flags.approvalTimeoutMinutes } : {}),
            ...(flags.onTimeout ? { onTimeout: flags.onTimeout } : {}),
          },
        }
      : {}),
    ...(flags.canary !== undefined ? { canary: flags.canary } : {}),
    ...(flags.pauseLimitMinutes !== undefined ? { pauseLimitMinutes: flags.pauseLimitMinutes } : {}),
    ...policyInput(flags),
  };
  if (raw.targetVersion === undefined)
    throw new InputValidationError('targetVersion: expected --target-version V (or targetVersion in --input)', 'targetVersion');
  return { raw, input: parseInput(raw), ...(cluster ? { cluster } : {}) };
}
