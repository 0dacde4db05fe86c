import { parseInput, type UpgradeInput } from '../../core/input-schema.js';
import { runContext, type RunContext } from '../../core/run-context.js';
import { logger } from '../../adapters/logger.js';

export interface ValidateInputEvent {
  input: unknown;
  runId: string;
  startedAt: string;
}

/** First state: rejects bad input with InputValidationError naming the field, before anything is touched. */
export const handler = async (event: ValidateInputEvent): Promise<{ input: UpgradeInput; run: RunContext }> => {
  const { nodes, ...input } = parseInput(event.input);
  const run = runContext({ ...input, ...(nodes ? { nodes } : {}) }, event.runId, event.startedAt);
  logger.info('input accepted', { runId: run.runId, cluster: run.cluster, targetVersion: run.targetVersion, nodes: nodes?.length ?? 'by tag' });
  // The node list (up to thousands) is not carried through every state: the plan reads it from the execution input.
  return { input, run };
};
