import { existsSync, readFileSync, statSync } from 'node:fs';
import { Command } from 'commander';
import { compareNatural } from '../core/natural-sort.js';
import { CLUSTER_PATTERN, NODE_ID_PATTERN } from '../core/input-schema.js';
import { globalFlags, StackClients } from './aws.js';
import { EXIT_OK, UsageError } from './errors.js';
import { table, when } from './table.js';

/** One version change of one node, as `history` lists it. */
export interface VersionChange {
  at: string;
  node: string;
  from: string | null;
  to: string | null;
  status: string;
  runId: string;
  startedAt: string;
  /** The operator's decision that ended this change, and who took it (or the timeout). */
  decided?: string;
  decidedIdentity?: { issuer: string; subject: string; email?: string };
}

/**
 * `--cluster` is a name or a cluster file, on every command: a value that names a file (or ends in .json) is
 * read for its name; anything else must be a name.
 */
export function checkCluster(cluster: string): string {
  if (isClusterFile(cluster)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(cluster, 'utf8'));
    } catch (error) {
      throw new UsageError(`--cluster: cannot read ${cluster} as a cluster file: ${error instanceof Error ? error.message : String(error)}`);
    }
    const name = (parsed as { cluster?: unknown } | null)?.cluster;
    if (typeof name !== 'string' || !CLUSTER_PATTERN.test(name)) throw new UsageError(`--cluster: ${cluster} has no valid "cluster" name`);
    return name;
  }
  if (!CLUSTER_PATTERN.test(cluster))
    throw new UsageError(`--cluster: expected a cluster name (letters, digits, "-", "_") or a cluster file, got ${JSON.stringify(cluster)}`);
  return cluster;
}

/** Whether a --cluster value means a file: it exists as one, or it ends in .json. */
export function isClusterFile(value: string): boolean {
  return value.endsWith('.json') || (existsSync(value) && statSync(value).isFile());
}

export function historyCommand(): Command {
  return new Command('history')
    .description('Every version change of every node of a cluster, from DynamoDB: when, from → to, how it ended, which run.')
    .requiredOption('--cluster <name|file>', 'the cluster: its name, or a cluster file (its name is read)')
    .option('--node <id>', 'only this node')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  fleet-upgrade history --cluster prod-als\n  fleet-upgrade history --cluster prod-als --node dea-3 --json')
    .action(async (flags: { cluster: string; node?: string; json?: boolean }, command: Command) => {
      const cluster = checkCluster(flags.cluster);
      if (flags.node !== undefined && !NODE_ID_PATTERN.test(flags.node)) throw new UsageError(`--node: expected a node id, got ${JSON.stringify(flags.node)}`);
      const clients = new StackClients(globalFlags(command));
      try {
        const store = await clients.store();
        const changes: VersionChange[] = [];
        for (const run of await store.listRuns(cluster)) {
          for (const o of await store.runOutcomes(run.runId)) {
            if (flags.node !== undefined && o.nodeId !== flags.node) continue;
            changes.push({
              at: o.at,
              node: o.nodeId,
              from: o.from,
              to: o.to,
              status: o.status,
              runId: run.runId,
              startedAt: run.startedAt,
              ...(o.decision !== undefined ? { decided: `${o.decision} ${o.byTimeout === true ? 'by timeout' : `by ${o.decidedBy ?? 'unknown'}`}` } : {}),
              ...(o.decidedIdentity ? { decidedIdentity: o.decidedIdentity } : {}),
            });
          }
        }
        changes.sort((a, b) => a.at.localeCompare(b.at) || compareNatural(a.node, b.node));
        if (flags.json) process.stdout.write(`${JSON.stringify(changes, null, 2)}\n`);
        else if (changes.length === 0) process.stdout.write(`No version changes recorded for ${cluster}${flags.node ? ` node ${flags.node}` : ''}.\n`);
        else {
          const rows = changes.map((c) => [when(c.at), c.node, c.from ?? '?', c.to ?? '?', c.status, c.decided ?? '—', c.runId]);
          process.stdout.write(`${table([['WHEN', 'NODE', 'FROM', 'TO', 'RESULT', 'DECIDED', 'RUN'], ...rows]).join('\n')}\n`);
        }
        process.exitCode = EXIT_OK;
      } finally {
        clients.destroy();
      }
    });
}

export interface NodeRow {
  id: string;
  roles: string[];
  version: string | null;
  previousVersion: string | null;
  status: string;
  lastRun: string | null;
  updatedAt: string | null;
  /** True when the node is not at the cluster's most common version. */
  odd: boolean;
}

/** Rows for `nodes`, with the nodes off the cluster's most common version marked (mixed versions). */
export function nodeRows(records: Record<string, unknown>[]): { rows: NodeRow[]; versions: Map<string, number> } {
  const versions = new Map<string, number>();
  for (const r of records) if (typeof r.version === 'string') versions.set(r.version, (versions.get(r.version) ?? 0) + 1);
  const common = [...versions.entries()].sort((a, b) => b[1] - a[1] || b[0].localeCompare(a[0]))[0]?.[0];
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const rows = records
    .map((r) => ({
      id: String(r.nodeId),
      roles: Array.isArray(r.roles) ? r.roles.map(String) : [],
      version: str(r.version),
      previousVersion: str(r.previousVersion),
      status: str(r.status) ?? '',
      lastRun: str(r.lastRun),
      updatedAt: str(r.updatedAt),
      odd: versions.size > 1 && r.version !== common,
    }))
    .sort((a, b) => compareNatural(a.id, b.id));
  return { rows, versions };
}

export function formatNodes(cluster: string, rows: NodeRow[], versions: Map<string, number>, color: boolean): string {
  if (rows.length === 0) return `No nodes recorded for ${cluster} yet (nodes are recorded when a run reaches them).`;
  const mark = (text: string, odd: boolean) => (odd && color ? `\x1b[33m${text}\x1b[0m` : text);
  const lines = table([
    ['NODE', 'ROLES', 'VERSION', 'PREVIOUS', 'STATUS', 'LAST RUN', 'UPDATED'],
    ...rows.map((r) => [
      `${r.odd ? '*' : ' '}${r.id}`,
      r.roles.join(',') || '—',
      r.version ?? '?',
      r.previousVersion ?? '—',
      r.status,
      r.lastRun ?? '—',
      when(r.updatedAt),
    ]),
  ]);
  const out = lines.map((l, i) => (i === 0 ? l : mark(l, rows[i - 1]?.odd === true)));
  if (versions.size > 1) {
    out.push('');
    out.push(
      `Mixed versions: ${[...versions.entries()].map(([v, n]) => `${v} (${n} node${n > 1 ? 's' : ''})`).join(', ')}; * marks nodes off the most common version.`,
    );
  }
  return out.join('\n');
}

export function nodesCommand(): Command {
  return new Command('nodes')
    .description("The cluster's nodes as DynamoDB records them: roles, version, previous version, last run, status; mixed versions highlighted.")
    .requiredOption('--cluster <name|file>', 'the cluster: its name, or a cluster file (its name is read)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  fleet-upgrade nodes --cluster prod-als')
    .action(async (flags: { cluster: string; json?: boolean }, command: Command) => {
      const cluster = checkCluster(flags.cluster);
      const clients = new StackClients(globalFlags(command));
      try {
        const { rows, versions } = nodeRows(await (await clients.store()).nodeRecords(cluster));
        if (flags.json)
          process.stdout.write(
            `${JSON.stringify({ cluster, mixedVersions: versions.size > 1, versions: Object.fromEntries(versions), nodes: rows }, null, 2)}\n`,
          );
        else process.stdout.write(`${formatNodes(cluster, rows, versions, process.stdout.isTTY === true)}\n`);
        process.exitCode = EXIT_OK;
      } finally {
        clients.destroy();
      }
    });
}
