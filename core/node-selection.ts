import { InputValidationError } from './errors.js';
import type { NodeSpec, UpgradeInput } from './input-schema.js';
import { compareNatural } from './natural-sort.js';

/** How many unknown ids the message names one by one. */
const NAMED_AT_MOST = 20;

/** The nodes a run works on (`only`, or all), and the cluster's others, which it leaves alone. */
export interface NodeSelection<N extends NodeSpec = NodeSpec> {
  selected: N[];
  /** Ids of the cluster's nodes not in this run, natural order (empty without `only`). */
  notInRun: string[];
}

/**
 * Picks the nodes of `only` (kato's single-node upgrade) from the cluster's. An id the cluster does not
 * have is bad input naming it: a misspelled node would otherwise make a run that upgrades nothing.
 */
export function selectNodes<N extends NodeSpec>(nodes: readonly N[], only: readonly string[] | undefined): NodeSelection<N> {
  if (only === undefined) return { selected: [...nodes], notInRun: [] };
  const ids = new Set(nodes.map((n) => n.id));
  const unknown = only.map((id, index) => ({ id, index })).filter((u) => !ids.has(u.id));
  const first = unknown[0];
  if (first !== undefined) {
    const named = unknown
      .slice(0, NAMED_AT_MOST)
      .map((u) => u.id)
      .join(', ');
    const more = unknown.length > NAMED_AT_MOST ? ` and ${unknown.length - NAMED_AT_MOST} more` : '';
    throw new InputValidationError(
      `only[${first.index}]: expected the id of one of the cluster's nodes, got ${unknown.length === 1 ? `"${first.id}"` : `${unknown.length} unknown ids: ${named}${more}`} (nothing was changed)`,
      `only[${first.index}]`,
    );
  }
  const wanted = new Set(only);
  return {
    selected: nodes.filter((n) => wanted.has(n.id)),
    notInRun: nodes
      .filter((n) => !wanted.has(n.id))
      .map((n) => n.id)
      .sort(compareNatural),
  };
}

/**
 * Whether a run may send `node` commands, so it must be online: every node without `only`; with it, the
 * selected nodes and whichever may be the core node (it switches maintenance mode). A node left out of
 * the run may be offline: kato's single-node upgrade is often run while another node is down.
 */
export function mayBeSentCommands(input: Pick<UpgradeInput, 'only' | 'coreNode'>): (node: NodeSpec) => boolean {
  const only = input.only;
  if (only === undefined) return () => true;
  const wanted = new Set(only);
  return (node) => wanted.has(node.id) || (input.coreNode === undefined ? node.roles.includes('primary') : node.id === input.coreNode);
}
