import { InputValidationError } from './errors.js';
import type { NodeRoles as NodeSpec } from './node-roles.js';

/** A role of `roleOrder` that no node of the cluster has, and the cluster's role nearest to it. */
export interface UnusedRole {
  /** Its position in roleOrder. */
  index: number;
  role: string;
  /** The cluster's role with the fewest edits from it (absent when no node has any role). */
  closest?: string;
  /** How many edits `closest` is away. */
  distance?: number;
  /** Every role the cluster has, sorted. */
  clusterRoles: string[];
}

/** Levenshtein distance: insertions, deletions and substitutions that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitute));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The candidate with the fewest edits from `word`; ties go to the first in sorted order. */
export function closestWord(word: string, candidates: readonly string[]): { word: string; distance: number } | undefined {
  let best: { word: string; distance: number } | undefined;
  for (const candidate of [...candidates].sort()) {
    const distance = editDistance(word, candidate);
    if (best === undefined || distance < best.distance) best = { word: candidate, distance };
  }
  return best;
}

/**
 * Roles of an explicit `roleOrder` that no node has. Such a role is most likely a typo (`contrller`), and it
 * silently moves the nodes it meant to order into a later group. The default order is never checked: it
 * names roles many clusters do not run.
 */
export function unusedRoles(roleOrder: readonly string[] | undefined, nodes: readonly NodeSpec[]): UnusedRole[] {
  if (roleOrder === undefined) return [];
  const clusterRoles = [...new Set(nodes.flatMap((n) => n.roles))].sort();
  const has = new Set(clusterRoles);
  return roleOrder.flatMap((role, index) => {
    if (has.has(role)) return [];
    const closest = closestWord(role, clusterRoles);
    return [{ index, role, clusterRoles, ...(closest ? { closest: closest.word, distance: closest.distance } : {}) }];
  });
}

/** A near miss is a suggestion; otherwise the cluster's roles are listed (the first few). */
function hint(unused: UnusedRole): string {
  if (unused.closest === undefined) return 'no node of the cluster has any role';
  if ((unused.distance ?? Infinity) <= Math.max(2, Math.ceil(unused.role.length / 3))) return `did you mean "${unused.closest}"?`;
  const listed = unused.clusterRoles.slice(0, 8).join(', ');
  return `the cluster's roles are ${listed}${unused.clusterRoles.length > 8 ? ', ...' : ''}`;
}

/** The schema-style message (the field and "got" are added by the caller). */
export function unusedRoleMessage(unused: UnusedRole): string {
  return `expected a role that a node of the cluster has: ${hint(unused)} (allowUnusedRoles / --allow-unused-roles accepts a role no node has)`;
}

/** Refuses roles no node has, as bad input naming the first and its nearest role, unless allowed. */
export function refuseUnusedRoles(input: { roleOrder?: string[] | undefined; allowUnusedRoles: boolean }, nodes: readonly NodeSpec[]): void {
  if (input.allowUnusedRoles) return;
  const found = unusedRoles(input.roleOrder, nodes);
  const first = found[0];
  if (first === undefined) return;
  const field = `roleOrder[${first.index}]`;
  const more =
    found.length > 1
      ? ` (and ${found.length - 1} more: ${found
          .slice(1, 6)
          .map((u) => `"${u.role}"`)
          .join(', ')})`
      : '';
  throw new InputValidationError(`${field}: ${unusedRoleMessage(first)}, got "${first.role}"${more}`, field);
}
