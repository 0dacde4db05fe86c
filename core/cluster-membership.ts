import { InputValidationError } from './errors.js';
import { CLUSTER_TAG } from './node-tags.js';

/** How many refused nodes the message names one by one; a Step Functions cause holds at most 32,768 characters. */
const NAMED_AT_MOST = 200;

/**
 * Listed nodes must carry `fleet-upgrade:cluster=<cluster>`: a run holds only its own cluster's lock, so a
 * node of another cluster (or of none) in `nodes` would be changed under nobody's lock. Refused as bad input,
 * each such node named, before anything is recorded or any node is checked.
 */
export function refuseForeignNodes(cluster: string, listed: readonly string[], members: ReadonlySet<string>): void {
  const foreign = listed.filter((id) => !members.has(id));
  if (foreign.length === 0) return;
  const named = foreign.slice(0, NAMED_AT_MOST).join(', ');
  const more = foreign.length > NAMED_AT_MOST ? ` and ${foreign.length - NAMED_AT_MOST} more` : '';
  const count = foreign.length === 1 ? '1 listed node does' : `${foreign.length} listed nodes do`;
  throw new InputValidationError(
    `nodes: ${count} not carry the tag ${CLUSTER_TAG}=${cluster}: ${named}${more}. A run touches only its own cluster's nodes: ` +
      `list only nodes tagged ${CLUSTER_TAG}=${cluster}, or tag them (nothing was changed)`,
    'nodes',
  );
}
