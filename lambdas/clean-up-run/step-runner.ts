import { cleanupStepResult, cleanupStepStart, keepsWaiting, settleAction, stepDeadlineMs } from '../../core/cleanup-step.js';
import type { StepResult } from '../../core/step-result.js';
import { STEP_TIMEOUT_SECONDS, type StepId } from '../../core/steps.js';
import type { FleetStore } from '../../adapters/store.js';
import type { SsmCommandRunner } from '../../adapters/ssm.js';
import { requireEnv } from '../../adapters/aws-clients.js';

export type StoredRun = NonNullable<Awaited<ReturnType<FleetStore['getRun']>>>;

/** The part of Lambda's context the cleanup reads: how long this invocation may still run. */
export interface InvocationTime {
  getRemainingTimeInMillis(): number;
}

/**
 * The cleanup ran out of this invocation's time: the handler returns `done: false`, and the cleanup state
 * machine invokes it again, which goes on where this one stopped (a command already sent is waited for,
 * never sent again).
 */
export class CleanupContinues extends Error {
  constructor(readonly waitingFor: string) {
    super(`the cleanup continues in the next invocation: ${waitingFor}`);
    this.name = 'CleanupContinues';
  }
}

/** Leaves this much of the invocation for recording what is done before Lambda ends it. */
const TIME_MARGIN_MS = 30_000;

function checkTime(context: InvocationTime | undefined, what: string): void {
  if (context !== undefined && context.getRemainingTimeInMillis() < TIME_MARGIN_MS) throw new CleanupContinues(what);
}

const poll = () => new Promise((resolve) => setTimeout(resolve, Number(process.env.RUN_STOPPED_POLL_MS ?? 2000)));

/** Waits until the node is settled (core/cleanup-step.ts): reads the node's items only, or the one step `only`. */
export async function settled(store: FleetStore, runId: string, nodeId: string, context: InvocationTime | undefined, only?: StepId): Promise<void> {
  for (;;) {
    const mine = only === undefined ? await store.nodeCheckpoints(runId, nodeId) : [await store.getCheckpoint(runId, nodeId, only)];
    if (settleAction(mine, Date.now()).kind === 'settled') return;
    checkTime(context, `waiting for ${nodeId}'s step to finish`);
    await poll();
  }
}

/**
 * Runs one runbook step on a node through SSM, waits for it, and checkpoints the result. The command is
 * recorded (a RUNNING checkpoint) as soon as it is sent: an invocation that runs out of time, and its retry,
 * wait for that command instead of sending a second one to the node.
 */
export async function runAndWait(
  store: FleetStore,
  runner: SsmCommandRunner,
  run: StoredRun,
  nodeId: string,
  step: StepId,
  context: InvocationTime | undefined,
): Promise<StepResult> {
  const timeout = STEP_TIMEOUT_SECONDS[step];
  const start = cleanupStepStart(await store.getCheckpoint(run.runId, nodeId, step));
  if (start.kind === 'done') return start.result;
  const startedAt = start.kind === 'wait-for' ? start.startedAt : new Date().toISOString();
  const commandId =
    start.kind === 'wait-for'
      ? start.commandId
      : await runner.send(nodeId, {
          step,
          targetVersion: run.targetVersion,
          artifactBaseUrl: requireEnv('ARTIFACT_BASE_URL'),
          httpsProxy: '',
          runId: run.runId,
          executionTimeout: String(timeout),
        });
  if (start.kind === 'send')
    await store.putCheckpoint(run.runId, { nodeId, step, status: 'RUNNING', exitCode: null, warnings: [], startedAt, commandId, timeoutSeconds: timeout });
  const deadline = stepDeadlineMs(startedAt, timeout);
  let invocation = await runner.invocation(commandId, nodeId).catch(() => null);
  while (keepsWaiting(invocation, deadline, Date.now())) {
    checkTime(context, `waiting for ${step} on ${nodeId} (command ${commandId})`);
    await poll();
    invocation = await runner.invocation(commandId, nodeId).catch(() => null);
  }
  const result = cleanupStepResult(step, nodeId, run.targetVersion, invocation);
  await store.putCheckpoint(run.runId, {
    nodeId,
    step,
    status: result.outcome,
    exitCode: result.exitCode,
    warnings: result.warnings,
    outputTail: result.outputTail,
    details: result.details,
    startedAt,
    finishedAt: new Date().toISOString(),
    commandId,
  });
  return result;
}
