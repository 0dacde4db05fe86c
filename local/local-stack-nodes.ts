import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterFile } from './cluster-file.js';
import { startPackageRepo, type PackageRepo } from './package-repo.js';
import { createSandbox, startService, stopService } from './sandbox.js';
import type { InjectedFailure } from './ssm-endpoint.js';

/** Stops services a previous run left in the workdir, then empties it. */
export async function cleanWorkdir(workdir: string): Promise<void> {
  const nodes = join(workdir, 'nodes');
  if (existsSync(nodes)) {
    for (const id of await readdir(nodes)) await stopService(join(nodes, id));
  }
  await rm(workdir, { recursive: true, force: true });
  await mkdir(workdir, { recursive: true });
}

/** What the sandbox nodes of a local stack are, and where their packages come from. */
export interface LocalNodesOptions {
  cluster: ClusterFile;
  /** Absolute. Emptied first, unless `resume`. */
  workdir: string;
  /** Keep the sandboxes an earlier run left in the workdir (their services come back as they were) instead of new ones. */
  resume: boolean;
  /** Versions the package repository serves besides the nodes' own. */
  versions: string[];
  /** `bare`: a sandbox holds only `<root>/VERSION` and runs no service (runbooks that touch nothing else). */
  sandboxes: 'full' | 'bare';
  /** Leave the services running after the cleanups (a test inspects them, then stops them). */
  keepServices: boolean;
  /** The repository refuses a request that did not come through the caller's loopback proxy. */
  packagesOnlyThroughProxy: boolean;
  /** Versions whose package bytes do not match SHA256SUMS. */
  corruptVersions: string[];
  /** A `signature` failure has the repository also serve packages signed by another key. */
  failures: InjectedFailure[];
  cleanups: (() => Promise<void>)[];
}

export interface LocalNodes {
  /** Node id → its sandbox (the node's `$ROOT`). */
  nodeRoots: Map<string, string>;
  repo: PackageRepo;
}

/** The package repository and a sandbox per node of the cluster, each at its version with its state (and service). */
export async function startLocalNodes(opts: LocalNodesOptions): Promise<LocalNodes> {
  const { workdir, cleanups } = opts;
  if (!opts.resume) await cleanWorkdir(workdir);
  const nodeRoots = new Map(opts.cluster.nodes.map((n) => [n.id, join(workdir, 'nodes', n.id)]));
  const packageDir = join(workdir, 'packages');
  const repo = await startPackageRepo({
    dir: packageDir,
    versions: [...new Set([...opts.cluster.nodes.map((n) => n.version), ...opts.versions])],
    onlyThroughProxy: opts.packagesOnlyThroughProxy,
    impostor: opts.failures.some((f) => f.kind === 'signature'),
    ...(opts.corruptVersions.length > 0 ? { corrupt: opts.corruptVersions } : {}),
  });
  cleanups.push(() => repo.close());
  // Fifty at a time: each sandbox starts its service, and a cluster of thousands would start them all at once.
  const newSandboxes = opts.resume ? [] : opts.cluster.nodes;
  for (let i = 0; i < newSandboxes.length; i += 50) {
    await Promise.all(
      newSandboxes.slice(i, i + 50).map(async (n) => {
        const root = nodeRoots.get(n.id) as string;
        if (opts.sandboxes === 'bare') {
          await mkdir(root, { recursive: true });
          await writeFile(join(root, 'VERSION'), `${n.version}\n`);
          return;
        }
        await createSandbox({ root, version: n.version, packageDir, state: n.state ?? { node: n.id, roles: n.roles, data: `state of ${n.id}` } });
      }),
    );
  }
  // A resumed run's nodes kept running in the world it rehearses: their services come back as they were left.
  if (opts.resume && opts.sandboxes === 'full') await Promise.all([...nodeRoots.values()].map((root) => startService(root)));
  if (!opts.keepServices)
    cleanups.push(async () => {
      await Promise.all([...nodeRoots.values()].map((root) => stopService(root)));
    });
  return { nodeRoots, repo };
}
