import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NODE_ID_PATTERN } from '../../core/input-schema.js';
import { STEP_IDS, CLUSTER_STEPS } from '../../core/steps.js';
import { SK_PREFIX, checkpointKey, heldKey, holdKey, nodeCheckpointsPrefix, outcomeKey, planKey } from '../../adapters/keys.js';

const nodeId = fc.stringMatching(NODE_ID_PATTERN);
const step = fc.constantFrom(...STEP_IDS);
const runPrefixes = [SK_PREFIX.plan, SK_PREFIX.outcome, SK_PREFIX.checkpoint, SK_PREFIX.hold, SK_PREFIX.held];

describe("the keys of a run's partition", () => {
  it("every record of a run begins with its own kind's prefix and with no other kind's", () => {
    fc.assert(
      fc.property(nodeId, step, (id, s) => {
        const records: [string, string][] = [
          [SK_PREFIX.plan, planKey('r', id).sk],
          [SK_PREFIX.outcome, outcomeKey('r', id).sk],
          [SK_PREFIX.checkpoint, checkpointKey('r', id, s).sk],
          [SK_PREFIX.hold, holdKey('r', id).sk],
          [SK_PREFIX.held, heldKey('r', id).sk],
        ];
        for (const [own, sk] of records) expect(runPrefixes.filter((p) => sk.startsWith(p))).toEqual([own]);
      }),
    );
  });

  it("a node's checkpoint prefix selects that node's checkpoints alone (i-1 never selects i-10), and never an outcome", () => {
    const nodeStep = fc.constantFrom(...STEP_IDS.filter((s) => !CLUSTER_STEPS.includes(s)));
    fc.assert(
      fc.property(nodeId, nodeId, nodeStep, (a, b, s) => {
        expect(checkpointKey('r', a, s).sk.startsWith(nodeCheckpointsPrefix(a))).toBe(true);
        expect(checkpointKey('r', b, s).sk.startsWith(nodeCheckpointsPrefix(a))).toBe(a === b);
        expect(outcomeKey('r', a).sk.startsWith(nodeCheckpointsPrefix(a))).toBe(false);
      }),
    );
    expect(checkpointKey('r', 'i-10', 'upgrade').sk.startsWith(nodeCheckpointsPrefix('i-1'))).toBe(false);
  });

  it("maintenance mode's checkpoints are the run's, under no node", () => {
    fc.assert(
      fc.property(nodeId, fc.constantFrom(...CLUSTER_STEPS), (id, s) => {
        expect(checkpointKey('r', id, s).sk.startsWith(SK_PREFIX.checkpoint)).toBe(true);
        expect(checkpointKey('r', id, s).sk.startsWith(nodeCheckpointsPrefix(id))).toBe(false);
      }),
    );
  });
});
