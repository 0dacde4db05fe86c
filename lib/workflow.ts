import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { STEP_STATE_NAMES, STEP_TIMEOUT_SECONDS, WINDOW_STEPS, deliveryTimeoutSeconds, type StepId } from '../core/steps.js';
import { HELD_STATE_NAME } from '../core/hold.js';
import { STEP_FAILED } from '../core/errors.js';
import { isPaused, pausedState } from './paused-state.js';
import { Canary } from './workflow/canary.js';
import { HealthWatch } from './workflow/health.js';
import { CHILD_OUTPUT, ENDS_CHILD, TRANSIENT_ERRORS } from './workflow/tasks.js';
import { whoDecides } from './failure-policy.js';

/** Nodes checked at once before the window (self-update and version check only: read-mostly, safe in parallel). */
const CHECK_CONCURRENCY = 10;

/** The functions the workflow invokes. */
export interface WorkflowFunctions {
  requestApproval: lambda.IFunction;
  validateInput: lambda.IFunction;
  lock: lambda.IFunction;
  plan: lambda.IFunction;
  runStep: lambda.IFunction;
  recordNode: lambda.IFunction;
  summarize: lambda.IFunction;
}

/** The state machine: every state named for what an operator reads in the console. */
export function buildWorkflow(scope: Construct, f: WorkflowFunctions): sfn.IChainable {
  const transientRetry: sfn.RetryProps = {
    errors: TRANSIENT_ERRORS,
    maxAttempts: 2,
    interval: Duration.seconds(2),
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  };
  // Rollback and switching maintenance mode off restore a known state and are idempotent: one bad moment
  // (a failed attempt, a crash) must not leave a node half-upgraded or the cluster in maintenance.
  const restoreRetry: sfn.RetryProps = { ...transientRetry, errors: [STEP_FAILED, ...TRANSIENT_ERRORS], maxAttempts: 3 };
  const invoke = (name: string, fn: lambda.IFunction, payload: Record<string, unknown>, resultPath: string | undefined, more: { outputPath?: string } = {}) =>
    new tasks.LambdaInvoke(scope, name, {
      ...more,
      lambdaFunction: fn,
      payload: sfn.TaskInput.fromObject(payload),
      payloadResponseOnly: true,
      resultPath: resultPath ?? sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(2)),
    }).addRetry(transientRetry);
  /**
   * A runbook step on a node: run-step sends the SSM command; command-finished answers the token. A lost
   * status event times the task out: the retry reconciles with GetCommandInvocation (run-step takes over
   * the command its first attempt started; the node never runs the step twice). Transient errors retry.
   */
  const step = (
    step: StepId,
    name: string,
    nodePath: string,
    resultPath: string,
    retry: sfn.RetryProps = transientRetry,
    more: { outputPath?: string } = {},
  ) => {
    const task = new tasks.LambdaInvoke(scope, name, {
      ...more,
      lambdaFunction: f.runStep,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({
        taskToken: sfn.JsonPath.taskToken,
        step,
        node: { 'id.$': nodePath },
        'run.$': '$.run',
      }),
      resultPath,
      // The command may start as late as its delivery timeout, then run its execution timeout; then its
      // completion event needs time to arrive.
      taskTimeout: sfn.Timeout.duration(Duration.seconds(deliveryTimeoutSeconds(STEP_TIMEOUT_SECONDS[step]) + STEP_TIMEOUT_SECONDS[step] + 120)),
    });
    task.addRetry({ errors: [sfn.Errors.TIMEOUT], maxAttempts: 1, interval: Duration.seconds(1) });
    task.addRetry(retry);
    return task;
  };
  const nodeStep = (id: StepId) => step(id, STEP_STATE_NAMES[id], '$.node.id', '$.lastStep');

  // ── Per node ──────────────────────────────────────────────────────────────
  // Without a usable decision (the approval Lambda itself failed), the node is recorded failed and the run stops.
  const recordFailureTask = invoke(
    'Record node failure',
    f.recordNode,
    {
      action: 'failed',
      'node.$': '$.node',
      'run.$': '$.run',
      'error.$': '$.error',
    },
    '$.outcome',
  );
  recordFailureTask.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(2), backoffRate: 2 });
  const recordFailure = recordFailureTask.next(
    new sfn.Succeed(scope, 'Node upgrade failed', {
      ...ENDS_CHILD,
      comment: 'a step failed on this node and the run stops; see Record node failure and the run summary for the step and its output',
    }),
  );

  // A failed window step asks the operator (email link / CLI) and waits; no answer in time → onTimeout.
  // With onFailure rollback-and-continue the failure budget decides instead (failure-policy.ts).
  const askOperator = new tasks.LambdaInvoke(scope, 'Ask operator', {
    lambdaFunction: f.requestApproval,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    // enteredAt: the approval's link expires with this task, counted from when its timer could start, not from the function's clock.
    payload: sfn.TaskInput.fromObject({
      action: 'ask',
      taskToken: sfn.JsonPath.taskToken,
      'node.$': '$.node',
      'run.$': '$.run',
      'error.$': '$.error',
      'failedStep.$': '$.failedStep',
      'enteredAt.$': '$$.State.EnteredTime',
    }),
    resultPath: '$.approval',
    taskTimeout: sfn.Timeout.at('$.run.approvalTimeoutSeconds'),
  });
  const decideByTimeout = invoke(
    'Decide by timeout',
    f.requestApproval,
    {
      action: 'timeout',
      'node.$': '$.node',
      'run.$': '$.run',
    },
    '$.approval',
  );
  // No answer in time — or no way to ask (the notification failed): onTimeout decides, so a node that
  // changed is not left half-upgraded for want of a human.
  askOperator.addCatch(decideByTimeout, { resultPath: '$.approvalTimeout' });
  decideByTimeout.addCatch(recordFailure, { resultPath: '$.approvalError' });

  // Each window step's failure notes which step failed before asking: when run-step itself crashed or the
  // step timed out, no checkpoint says so, and "retry" must re-run this step, not another.
  const guarded = <T extends tasks.LambdaInvoke>(id: StepId, task: T): T => {
    const noted = new sfn.Pass(scope, `${STEP_STATE_NAMES[id]} step failed`, { result: sfn.Result.fromString(id), resultPath: '$.failedStep' });
    noted.next(failureDecider);
    task.addCatch(noted, { resultPath: '$.error' });
    return task;
  };

  // A rollback that fails leaves the node in an unknown state: recorded, a second notification, the run stops.
  // Recording is idempotent and must not fail the iteration (that would abort the nodes in flight): retried.
  const recordNode = (name: string, payload: Record<string, unknown>, more: { outputPath?: string } = {}) => {
    const task = invoke(name, f.recordNode, payload, '$.outcome', more);
    task.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(2), backoffRate: 2 });
    return task;
  };
  const rollbackFailed = recordNode('Record failed rollback', {
    action: 'needsAttention',
    rollbackFailed: true,
    'node.$': '$.node',
    'run.$': '$.run',
    'approval.$': '$.approval',
  })
    .next(
      invoke(
        'Notify failed rollback',
        f.requestApproval,
        { action: 'rollbackFailed', 'node.$': '$.node', 'run.$': '$.run', 'error.$': '$.rollbackError' },
        '$.notified',
      ),
    )
    .next(new sfn.Succeed(scope, 'Rollback failed', { ...ENDS_CHILD, comment: 'the node could not be rolled back and needs attention; the run stops' }));
  const rollback = (name: string) => {
    const task = step('rollback', name, '$.node.id', '$.rollback', restoreRetry);
    task.addCatch(rollbackFailed, { resultPath: '$.rollbackError' });
    return task;
  };
  const decidedRollback = rollback('Roll back node')
    .next(recordNode('Record rollback', { action: 'rolledBack', 'node.$': '$.node', 'run.$': '$.run', 'approval.$': '$.approval' }))
    .next(new sfn.Succeed(scope, 'Node rolled back', { ...ENDS_CHILD, comment: 'the operator (or the timeout) rolled this node back; the run stops' }));
  const canary = new Canary(scope, 'Canary', { requestApproval: f.requestApproval, recordNode: f.recordNode });
  const decidedSkip = rollback('Roll back node and skip it')
    .next(recordNode('Record skipped node', { action: 'rolledBack', 'node.$': '$.node', 'run.$': '$.run', 'approval.$': '$.approval' }))
    .next(
      canary.after(
        'Is the canary complete after the skip?',
        new sfn.Succeed(scope, 'Node skipped', { ...ENDS_CHILD, comment: 'restored to its old version; the run continues with the other nodes' }),
      ),
    );
  const decidedAbort = recordNode('Record node needing attention', {
    action: 'needsAttention',
    'node.$': '$.node',
    'run.$': '$.run',
    'approval.$': '$.approval',
  }).next(
    new sfn.Succeed(scope, 'Upgrade aborted', {
      ...ENDS_CHILD,
      comment: 'the operator (or, past its budget, the failure budget) aborted the run; the node was left as it was and needs attention',
    }),
  );

  const failureDecider = whoDecides(scope, { requestApproval: f.requestApproval, invoke, askOperator, skip: decidedSkip, abort: decidedAbort });

  // Inside the window: the node was found below the target, and its package is already on it.
  const windowStep = new Map<StepId, tasks.LambdaInvoke>(WINDOW_STEPS.map((id) => [id, guarded(id, nodeStep(id))]));
  const at = (id: StepId) => windowStep.get(id) as tasks.LambdaInvoke;
  const recordVersion = recordNode('Record version', { action: 'upgraded', 'node.$': '$.node', 'run.$': '$.run' });
  recordVersion.addCatch(recordFailure, { resultPath: '$.error' });
  const health = new HealthWatch(scope, 'Health', { requestApproval: f.requestApproval, recordNode: f.recordNode });
  // With healthAlarms, the node's outcome first goes to the alarms' watch (its own branch: no state for runs without).
  const afterNode = canary.after('Is the canary complete?', new sfn.Succeed(scope, 'Node upgraded', ENDS_CHILD), { when: health.watched, then: health.watch });
  recordVersion.next(afterNode);
  const isDea = new sfn.Choice(scope, 'Is it a DEA node?')
    // Node items carry `retire` only when true (thousands of nodes share one 256 KiB payload).
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.node.retire'), sfn.Condition.booleanEquals('$.node.retire', true)), at('retire'))
    .otherwise(at('backup'));
  at('pre-upgrade-validation').next(isDea);
  at('retire').next(at('backup'));
  at('backup').next(at('upgrade')).next(at('restart')).next(at('post-upgrade-validation')).next(recordVersion);
  // Iterations never fail (Step Functions would abort the other in-flight nodes mid-step): a node that
  // stops the run marks it, in-flight nodes finish their current node, and no further node starts.
  const gate = invoke('May this node start?', f.recordNode, { action: 'gate', 'node.$': '$.node', 'run.$': '$.run' }, '$.gate');
  gate.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(2), backoffRate: 2 });
  // A failed node's open question holds every node that has not started: it waits (a task token, no polling)
  // until the decision is applied, then asks the gate again. The timeout only guards against a lost release.
  const held = new tasks.LambdaInvoke(scope, HELD_STATE_NAME, {
    lambdaFunction: f.recordNode,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      action: 'hold',
      taskToken: sfn.JsonPath.taskToken,
      'node.$': '$.node',
      'run.$': '$.run',
      'waitingFor.$': '$.gate.waitingFor',
    }),
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: sfn.Timeout.duration(Duration.hours(1)),
  }).addRetry(transientRetry);
  held.addCatch(gate, { errors: [sfn.Errors.TIMEOUT], resultPath: sfn.JsonPath.DISCARD });
  held.next(gate);
  const resumedAt = (step: StepId) => sfn.Condition.and(sfn.Condition.isPresent('$.node.resumeAt'), sfn.Condition.stringEquals('$.node.resumeAt', step));
  health.connect(afterNode, gate);
  const upgradeNode = gate.next(
    new sfn.Choice(scope, 'Is the run stopping, or is the node resumed?')
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.gate.held'), sfn.Condition.booleanEquals('$.gate.held', true)), held)
      // A health alarm fired and this node asks about it (the others are held); then it asks the gate again.
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.gate.askHealth'), sfn.Condition.booleanEquals('$.gate.askHealth', true)), health.ask)
      .when(isPaused, pausedState(scope, f.recordNode, transientRetry, gate))
      .when(sfn.Condition.booleanEquals('$.gate.go', false), new sfn.Succeed(scope, 'Not started: the run is stopping', ENDS_CHILD))
      // A resumed run: a node the earlier run left mid-window goes on from the step its checkpoints say (plan's interruptedNodes).
      .when(resumedAt('restart'), at('restart'))
      .when(resumedAt('backup'), at('backup'))
      .otherwise(at('pre-upgrade-validation')),
  );

  // The operator's decision. Retry runs the failed step again and continues from there.
  const retryStep = new sfn.Choice(scope, 'Which step to retry?');
  for (const id of WINDOW_STEPS) retryStep.when(sfn.Condition.stringEquals('$.approval.failedStep', id), at(id));
  retryStep.otherwise(recordFailure);
  askOperator.next(
    new sfn.Choice(scope, 'What did the operator decide?')
      .when(sfn.Condition.stringEquals('$.approval.decision', 'retry'), retryStep)
      .when(sfn.Condition.stringEquals('$.approval.decision', 'rollback'), decidedRollback)
      .when(sfn.Condition.stringEquals('$.approval.decision', 'skip'), decidedSkip)
      .when(sfn.Condition.stringEquals('$.approval.decision', 'abort'), decidedAbort)
      .otherwise(recordFailure),
  );
  decideByTimeout.next(
    new sfn.Choice(scope, 'What does the timeout decide?')
      .when(sfn.Condition.stringEquals('$.approval.decision', 'abort'), decidedAbort)
      .otherwise(decidedRollback),
  );

  // Before the window: every node brings its tooling current and reports its version, and a node
  // that needs the upgrade downloads and verifies its package — in parallel (bounded), so nodes already
  // at the target never enter the window, maintenance mode is not switched on when no node needs it,
  // and the window holds no download (kato's --prepare, done for every node at once).
  const recordCheckFailure = invoke(
    'Record check failure',
    f.recordNode,
    {
      action: 'failed',
      'node.$': '$.node',
      'run.$': '$.run',
      'error.$': '$.error',
    },
    '$.outcome',
  ).next(
    new sfn.Pass(scope, 'Node check failed', {
      ...ENDS_CHILD,
      // The iteration ends normally: the other nodes' checks finish (none is cut off mid-command), and
      // "Decide which nodes to upgrade" stops the run, naming every node that failed, before the window.
      comment: 'nothing was changed on this node; see Record check failure and the run summary',
    }),
  );
  const checked = <T extends tasks.LambdaInvoke>(task: T): T => {
    task.addCatch(recordCheckFailure, { resultPath: '$.error' });
    return task;
  };
  const checkNode = checked(step('self-update', 'Self-update', '$.node.id', '$.lastStep'))
    .next(checked(step('version-check', STEP_STATE_NAMES['version-check'], '$.node.id', '$.lastStep')))
    .next(
      new sfn.Choice(scope, 'Does this node need the upgrade?')
        .when(
          sfn.Condition.and(sfn.Condition.booleanEquals('$.lastStep.atTarget', true), sfn.Condition.booleanEquals('$.run.force', false)),
          new sfn.Succeed(scope, 'Already at target version', ENDS_CHILD),
        )
        .otherwise(checked(step('download', STEP_STATE_NAMES.download, '$.node.id', '$.lastStep', transientRetry, ENDS_CHILD))),
    );
  // Every Map runs as a Distributed Map: each iteration is a child execution with its own history, so
  // the parent's history grows by a handful of events per Map, not per node (25,000-event limit), and
  // one execution handles thousands of nodes. Children are STANDARD: they wait on task tokens.
  const checkNodes = new sfn.DistributedMap(scope, 'Check every node', {
    label: 'CheckNodes',
    mapExecutionType: sfn.StateMachineType.STANDARD,
    itemsPath: '$.plan.order',
    maxConcurrency: CHECK_CONCURRENCY,
    itemSelector: { node: { 'id.$': '$$.Map.Item.Value' }, 'run.$': '$.run', [CHILD_OUTPUT.key]: {} },
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(checkNode);
  const decideNodes = invoke(
    'Decide which nodes to upgrade',
    f.plan,
    {
      'input.$': '$.input',
      'run.$': '$.run',
      phase: 'decide',
    },
    '$.plan',
  );

  const upgradeNodes = new sfn.DistributedMap(scope, 'Upgrade nodes of the group', {
    label: 'UpgradeNodes',
    mapExecutionType: sfn.StateMachineType.STANDARD,
    itemsPath: '$.group.nodes',
    maxConcurrencyPath: '$.group.concurrency',
    itemSelector: { 'node.$': '$$.Map.Item.Value', 'run.$': '$.run', [CHILD_OUTPUT.key]: {} },
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(upgradeNode);
  // A node that failed, was rolled back or aborted marked the run stopped: the group fails here, after its
  // in-flight nodes finished, and the run takes the failure path (maintenance mode off, lock released).
  const groupDone = upgradeNodes.next(
    invoke(
      'Stop if a node stopped the run',
      f.recordNode,
      { action: 'checkStop', node: { 'id.$': '$.group.role' }, 'run.$': '$.run' },
      sfn.JsonPath.DISCARD,
      ENDS_CHILD,
    ),
  );
  // Distributed too: a Distributed Map may run inside another one's child workflow, not inside an Inline Map.
  const upgradeGroups = new sfn.DistributedMap(scope, 'Upgrade groups in role order', {
    label: 'UpgradeGroups',
    mapExecutionType: sfn.StateMachineType.STANDARD,
    itemsPath: '$.plan.groups',
    // Groups run strictly one after another.
    maxConcurrency: 1,
    itemSelector: { 'group.$': '$$.Map.Item.Value', 'run.$': '$.run', [CHILD_OUTPUT.key]: {} },
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(groupDone);

  // ── Failure path: maintenance mode off, lock released, summary — on every path that needs it ──
  const summarizeAfterFailure = invoke(
    'Summarize after failure',
    f.summarize,
    {
      'run.$': '$.run',
      'lock.$': '$.lockRelease',
      'error.$': '$.error',
    },
    '$.summary',
  );
  const upgradeFailed = new sfn.Fail(scope, 'Upgrade failed', {
    errorPath: '$.summary.failure.error',
    causePath: '$.summary.failure.message',
  });
  const releaseAfterFailure = invoke(
    'Release cluster lock after failure',
    f.lock,
    {
      action: 'release',
      'cluster.$': '$.run.cluster',
      'runId.$': '$.run.runId',
    },
    '$.lockRelease',
  );
  releaseAfterFailure.next(summarizeAfterFailure).next(upgradeFailed);
  // Maintenance mode could not be switched off (its step failed past its retries): nobody else will, so the
  // operators are told to do it by hand (second notification, as for a failed rollback), then the run ends.
  const notifyMaintenanceStillOn = invoke(
    'Notify maintenance mode still on',
    f.requestApproval,
    {
      action: 'maintenanceStillOn',
      node: { 'id.$': '$.plan.coreNode' },
      'run.$': '$.run',
    },
    '$.notified',
  );
  notifyMaintenanceStillOn.addCatch(releaseAfterFailure, { resultPath: '$.notifyError' });
  notifyMaintenanceStillOn.next(releaseAfterFailure);
  const maintenanceOffAfterFailure = step('maintenance-off', 'Disable maintenance mode after failure', '$.plan.coreNode', '$.maintenanceOff', restoreRetry);
  maintenanceOffAfterFailure.addCatch(notifyMaintenanceStillOn, { resultPath: '$.maintenanceOffError' });
  maintenanceOffAfterFailure.next(releaseAfterFailure);

  // ── Main path ──
  const acquireLock = invoke(
    'Acquire cluster lock',
    f.lock,
    {
      action: 'acquire',
      'cluster.$': '$.run.cluster',
      'runId.$': '$.run.runId',
    },
    '$.lock',
  );
  // The node list stays out of the state data (validate-input drops it): the plan reads it from the execution input.
  const planUpgrade = invoke('Plan upgrade', f.plan, { 'input.$': '$.input', 'executionInput.$': '$$.Execution.Input', 'run.$': '$.run' }, '$.plan');
  // Nothing has changed on any node before the window opens: failures here only release the lock.
  for (const beforeWindow of [planUpgrade, checkNodes, decideNodes]) beforeWindow.addCatch(releaseAfterFailure, { resultPath: '$.error' });
  const maintenanceOn = step('maintenance-on', 'Enable maintenance mode', '$.plan.coreNode', '$.maintenanceOn');
  maintenanceOn.addCatch(maintenanceOffAfterFailure, { resultPath: '$.error' });
  upgradeGroups.addCatch(maintenanceOffAfterFailure, { resultPath: '$.error' });
  const maintenanceOff = step('maintenance-off', 'Disable maintenance mode', '$.plan.coreNode', '$.maintenanceOff', restoreRetry);
  maintenanceOff.addCatch(notifyMaintenanceStillOn, { resultPath: '$.error' });
  const releaseLock = invoke(
    'Release cluster lock',
    f.lock,
    {
      action: 'release',
      'cluster.$': '$.run.cluster',
      'runId.$': '$.run.runId',
    },
    '$.lockRelease',
  );
  const summarize = invoke('Summarize', f.summarize, { 'run.$': '$.run', 'lock.$': '$.lockRelease' }, '$.summary');
  // Releasing the lock and summarizing are idempotent and end every path: a crash there is retried.
  for (const closing of [releaseLock, summarize, releaseAfterFailure, summarizeAfterFailure]) {
    closing.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 3, interval: Duration.seconds(2), backoffRate: 2 });
  }
  const upgradeFinished = new sfn.Succeed(scope, 'Upgrade finished', { outputPath: '$.summary' });

  const validate = new tasks.LambdaInvoke(scope, 'Validate input', {
    lambdaFunction: f.validateInput,
    payload: sfn.TaskInput.fromObject({ 'input.$': '$', 'runId.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime' }),
    payloadResponseOnly: true,
    taskTimeout: sfn.Timeout.duration(Duration.minutes(1)),
  });
  const dryRun = invoke('Plan only', f.plan, { 'input.$': '$.input', 'executionInput.$': '$$.Execution.Input', 'run.$': '$.run', dryRun: true }, '$.plan').next(
    new sfn.Succeed(scope, 'Dry run finished', { outputPath: '$.plan.plan' }),
  );

  maintenanceOn
    .next(upgradeGroups)
    .next(maintenanceOff)
    .next(releaseLock)
    .next(summarize)
    .next(
      new sfn.Choice(scope, 'Did every node upgrade?')
        .when(
          sfn.Condition.or(sfn.Condition.stringEquals('$.summary.status', 'SUCCEEDED'), sfn.Condition.stringEquals('$.summary.status', 'PREPARED')),
          upgradeFinished,
        )
        .otherwise(upgradeFailed),
    );

  return validate.next(
    new sfn.Choice(scope, 'Is this a dry run?').when(sfn.Condition.booleanEquals('$.input.dryRun', true), dryRun).otherwise(
      acquireLock
        .next(planUpgrade)
        .next(checkNodes)
        .next(decideNodes)
        .next(
          new sfn.Choice(scope, 'Does any node need the upgrade?')
            .when(
              sfn.Condition.and(sfn.Condition.numberGreaterThan('$.plan.upgradeCount', 0), sfn.Condition.booleanEquals('$.input.prepareOnly', false)),
              maintenanceOn,
            )
            // Every node is at the target already, or the run only prepares: maintenance mode is never switched on.
            .otherwise(releaseLock),
        ),
    ),
  );
}
