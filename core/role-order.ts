import { compareNatural } from './natural-sort.js';
import type { NodeRoles as NodeSpec } from './node-roles.js';

/** Name of the final group: nodes that match no role in the order. Also its key in `concurrency`. */
export const UNMATCHED = 'unmatched';

/** The seed procedure's order: DEA first, then controller, router, base, primary; everything else last. */
export const DEFAULT_ROLE_ORDER: readonly string[] = ['dea', 'controller', 'router', 'base', 'primary'];

export interface RoleGroup<N extends NodeSpec = NodeSpec> {
  /** The role this group upgrades, or `unmatched` for nodes that run no role in the order. */
  role: string;
  nodes: N[];
}

/**
 * The group a node joins: the LATEST role in the order that it has, so a node that also runs a later
 * role waits for it (the core node, which runs `primary`, goes with `primary`).
 */
export function groupRoleOf(node: NodeSpec, roleOrder: readonly string[]): string {
  let latest = -1;
  for (const role of node.roles) latest = Math.max(latest, roleOrder.indexOf(role));
  return latest < 0 ? UNMATCHED : (roleOrder[latest] as string);
}

/** Groups in role order (empty groups left out), unmatched nodes last, natural sort by id inside a group. */
export function groupByRole<N extends NodeSpec>(nodes: readonly N[], roleOrder: readonly string[] = DEFAULT_ROLE_ORDER): RoleGroup<N>[] {
  const byRole = new Map<string, N[]>();
  for (const node of nodes) {
    const role = groupRoleOf(node, roleOrder);
    const members = byRole.get(role) ?? [];
    members.push(node);
    byRole.set(role, members);
  }
  const groups: RoleGroup<N>[] = [];
  for (const role of [...roleOrder, UNMATCHED]) {
    const members = byRole.get(role);
    if (members === undefined) continue;
    groups.push({ role, nodes: [...members].sort((a, b) => compareNatural(a.id, b.id)) });
  }
  return groups;
}
