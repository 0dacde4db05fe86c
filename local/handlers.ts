import { handler as validateInput } from '../lambdas/validate-input/index.js';
import { handler as lock } from '../lambdas/lock/index.js';
import { handler as plan } from '../lambdas/plan/index.js';
import { handler as runStep } from '../lambdas/run-step/index.js';
import { handler as commandFinished } from '../lambdas/command-finished/index.js';
import { handler as recordNode } from '../lambdas/record-node/index.js';
import { handler as summarize } from '../lambdas/summarize/index.js';
import { handler as requestApproval } from '../lambdas/request-approval/index.js';
import { handler as runStopped } from '../lambdas/run-stopped/index.js';
import { handler as cleanUpRun } from '../lambdas/clean-up-run/index.js';
import { handler as approvalPage } from '../lambdas/approval-page/index.js';
import { handler as remindApprovers } from '../lambdas/remind-approvers/index.js';
import type { LocalHandler } from './state-machine-runner.js';

/** Handler module name (the stack's `fleet-upgrade:handler` metadata) → the real handler, run in-process. */
export const LOCAL_HANDLERS: Record<string, LocalHandler> = {
  'validate-input': validateInput as LocalHandler,
  lock: lock as LocalHandler,
  plan: plan as LocalHandler,
  'run-step': runStep as LocalHandler,
  'command-finished': commandFinished as LocalHandler,
  'record-node': recordNode as LocalHandler,
  summarize: summarize as LocalHandler,
  'request-approval': requestApproval as LocalHandler,
  'run-stopped': runStopped as LocalHandler,
  'clean-up-run': cleanUpRun as LocalHandler,
  'approval-page': approvalPage as LocalHandler,
  'remind-approvers': remindApprovers as LocalHandler,
};
