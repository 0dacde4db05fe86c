import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RunbookStep } from './runbook-step.js';
import { CLOSING_RETRY, FunctionTask, RESTORE_RETRY } from './tasks.js';

/** Properties of the {@link FailurePath}. */
export interface FailurePathProps {
  /** run-step: switches maintenance mode off. */
  readonly runStep: lambda.IFunction;
  /** request-approval: tells the operators that maintenance mode is still on. */
  readonly requestApproval: lambda.IFunction;
  /** lock: releases the cluster lock. */
  readonly lock: lambda.IFunction;
  /** summarize: the run's summary, from DynamoDB. */
  readonly summarize: lambda.IFunction;
}

/**
 * Where a run that failed goes: maintenance mode off, the lock released, the summary, and the execution fails
 * with the summary's error. A failure inside the window enters at `maintenanceOff`; one before the window, when
 * nothing has changed on any node, at `releaseLock`.
 */
export class FailurePath extends Construct {
  /** Disable maintenance mode after failure. */
  readonly maintenanceOff: sfn.IChainable;
  /**
   * Maintenance mode could not be switched off (its step failed past its retries): nobody else will, so the
   * operators are told to do it by hand (a second notification, as for a failed rollback), then the run ends.
   */
  readonly notifyMaintenanceStillOn: sfn.IChainable;
  /** Release cluster lock after failure. */
  readonly releaseLock: sfn.IChainable;
  /** The end of every failed run: the execution fails with the summary's error and message. */
  readonly upgradeFailed: sfn.Fail;

  constructor(scope: Construct, id: string, props: FailurePathProps) {
    super(scope, id);
    const summarize = new FunctionTask(this, 'Summarize after failure', {
      fn: props.summarize,
      payload: { 'run.$': '$.run', 'lock.$': '$.lockRelease', 'error.$': '$.error' },
      resultPath: '$.summary',
    }).addRetry(CLOSING_RETRY);
    this.upgradeFailed = new sfn.Fail(this, 'Upgrade failed', { errorPath: '$.summary.failure.error', causePath: '$.summary.failure.message' });
    const releaseLock = new FunctionTask(this, 'Release cluster lock after failure', {
      fn: props.lock,
      payload: { action: 'release', 'cluster.$': '$.run.cluster', 'runId.$': '$.run.runId' },
      resultPath: '$.lockRelease',
    }).addRetry(CLOSING_RETRY);
    releaseLock.next(summarize).next(this.upgradeFailed);
    const notify = new FunctionTask(this, 'Notify maintenance mode still on', {
      fn: props.requestApproval,
      payload: { action: 'maintenanceStillOn', node: { 'id.$': '$.plan.coreNode' }, 'run.$': '$.run' },
      resultPath: '$.notified',
    });
    notify.addCatch(releaseLock, { resultPath: '$.notifyError' });
    notify.next(releaseLock);
    const maintenanceOff = new RunbookStep(this, 'Disable maintenance mode after failure', {
      runStep: props.runStep,
      step: 'maintenance-off',
      node: '$.plan.coreNode',
      resultPath: '$.maintenanceOff',
      retry: RESTORE_RETRY,
    });
    maintenanceOff.addCatch(notify, { resultPath: '$.maintenanceOffError' });
    maintenanceOff.next(releaseLock);
    this.maintenanceOff = maintenanceOff;
    this.notifyMaintenanceStillOn = notify;
    this.releaseLock = releaseLock;
  }
}
