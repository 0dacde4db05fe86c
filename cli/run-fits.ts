import { refuseOversizedRun } from '../core/capacity.js';
import { PlanError } from '../core/errors.js';
import type { UpgradeInput } from '../core/input-schema.js';
import { planUpgrade, type UpgradePlan } from '../core/plan.js';
import { runContext } from '../core/run-context.js';

/**
 * The plan's size check before anything starts: a cluster listed in `nodes` whose run would not fit Step
 * Functions' state limit is refused here with the plan's own InputValidationError. Nodes found by tag are
 * known only to the run, whose plan checks them the same way.
 */
export function refuseOversizedInput(input: UpgradeInput, runId: string, plan?: UpgradePlan): void {
  if (input.nodes === undefined) return;
  let planned = plan;
  if (planned === undefined) {
    try {
      planned = planUpgrade(input, input.nodes, new Map());
    } catch (error) {
      // Whether the nodes can be planned at all is the run's own plan step to say, with its own error.
      if (error instanceof PlanError) return;
      throw error;
    }
  }
  refuseOversizedRun(input, runContext(input, runId, new Date().toISOString()), planned, { listed: true });
}
