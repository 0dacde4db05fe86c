import type { RunContext } from '../../core/run-context.js';
import { STEP_TIMEOUT_SECONDS, isStepId, unresponsiveAfterSeconds, type StepId } from '../../core/steps.js';
import { failureIgnored, resultFromCheckpoint } from '../../core/step-result.js';
import { FleetStore, type PendingCommand } from '../../adapters/store.js';
import { SsmCommandRunner } from '../../adapters/ssm.js';
import { TaskCallback } from '../../adapters/task-callback.js';
import { FINAL_COMMAND_STATUSES, answer, completeCommand, type CompletionDeps } from '../../adapters/command-completion.js';
import { documentClient, logsClient, requireEnv, sfnClient, ssmClient } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';

export interface RunStepEvent {
  taskToken: string;
  step: StepId;
  node: { id: string };
  run: RunContext;
}

export interface RunStepResult {
  commandId: string;
  /** How this invocation served the task: a new command, or the one an earlier attempt of the step started. */
  served: 'sent' | 'adopted' | 'reconciled' | 'stored-result' | 'unresponsive';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A step's execution timeout on the node. STEP_TIMEOUT_CAP_SECONDS (rehearsals, tests) shortens the steps
 * STEP_TIMEOUT_CAP_STEPS names (comma-separated), or every step when it names none.
 */
export function stepTimeoutSeconds(step: StepId): number {
  const cap = Number(process.env.STEP_TIMEOUT_CAP_SECONDS ?? '');
  const steps = (process.env.STEP_TIMEOUT_CAP_STEPS ?? '').split(',').filter(Boolean);
  const capped = Number.isFinite(cap) && cap >= 1 && (steps.length === 0 || steps.includes(step));
  return capped ? Math.min(STEP_TIMEOUT_SECONDS[step], Math.floor(cap)) : STEP_TIMEOUT_SECONDS[step];
}

/**
 * Starts one runbook step on one node and returns at once: the state machine waits on the task token,
 * which `command-finished` answers when SSM reports the command done. No polling loop.
 *
 * Idempotent: when an earlier attempt of this step (the task timed out, or the invocation was retried)
 * already started a command whose result no task took, the node does not run the step again — the
 * command is taken over (still running), reconciled with GetCommandInvocation (ended, its event lost),
 * answered from the stored result (answered to a task that no longer waited), or cancelled and failed
 * (still "in progress" long past its timeout: the node went offline).
 */
export const handler = async (event: RunStepEvent): Promise<RunStepResult> => {
  if (!isStepId(event.step)) throw new Error(`unknown step ${String(event.step)}`);
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const runner = new SsmCommandRunner(ssmClient(), requireEnv('DOCUMENT_NAME'), requireEnv('COMMAND_OUTPUT_LOG_GROUP'), logsClient());
  const deps: CompletionDeps = { store, callback: new TaskCallback(sfnClient()), now: () => new Date() };

  const now = new Date();
  // The common case, a step's first attempt, costs one request here: the RUNNING checkpoint is written
  // unless an earlier attempt left one (then nothing is written yet, and that checkpoint decides).
  const previous = await store.startCheckpoint(event.run.runId, {
    nodeId: event.node.id,
    step: event.step,
    status: 'RUNNING',
    exitCode: null,
    warnings: [],
    startedAt: now.toISOString(),
  });
  if (previous?.commandId !== undefined) {
    const earlier = await store.getCommand(previous.commandId);
    // ANSWERED: a task took that result, so this is a new attempt (the operator's retry): run the step again.
    if (earlier !== null && earlier.state !== 'ANSWERED') return takeOver(deps, runner, earlier, event);
  } else if (previous !== null && (previous.status === 'RUNNING' || previous.status === 'FAILED')) {
    // An earlier attempt stopped (crashed, timed out) after its RUNNING checkpoint but before it recorded
    // its command (the approval evidence may since have marked it FAILED: the operator's retry comes here
    // too). If its SendCommand went through, the node is running (or ran) the step: take that command
    // over instead of running the step a second time.
    // A command a task already took (ANSWERED) belongs to an attempt before the operator's retry.
    for (const sent of await runner.findSent(event.node.id, event.run.runId, event.step, new Date(previous.startedAt))) {
      const recorded = await store.getCommand(sent);
      if (recorded?.state === 'ANSWERED') continue;
      logger.warn('an earlier attempt sent this step but stopped before it recorded the command; taking it over', {
        runId: event.run.runId,
        nodeId: event.node.id,
        step: event.step,
        commandId: sent,
      });
      if (recorded !== null) {
        await store.setCheckpointCommand(event.run.runId, event.node.id, event.step, sent, recorded.timeoutSeconds ?? stepTimeoutSeconds(event.step));
        return takeOver(deps, runner, recorded, event);
      }
      const command = await recordCommand(store, event, sent, new Date(previous.startedAt), stepTimeoutSeconds(event.step));
      return takeOver(deps, runner, { ...command, state: 'PENDING' }, event);
    }
    logger.warn('an earlier attempt of this step stopped before it sent its command; sending the step', {
      runId: event.run.runId,
      nodeId: event.node.id,
      step: event.step,
    });
  }

  const timeout = stepTimeoutSeconds(event.step);
  if (previous !== null) {
    // The operator's retry of a failed step: the failure stays on record beside the new attempt (the last
    // ten failures, so that the checkpoint stays far below DynamoDB's item size however often it is retried).
    const earlierAttempts = [
      ...(previous.earlierAttempts ?? []),
      ...(previous.status === 'FAILED'
        ? [
            {
              exitCode: previous.exitCode,
              outputTail: (previous.outputTail ?? '').slice(-500),
              ...(previous.finishedAt ? { finishedAt: previous.finishedAt } : {}),
            },
          ]
        : []),
    ].slice(-10);
    await store.putCheckpoint(event.run.runId, {
      nodeId: event.node.id,
      step: event.step,
      status: 'RUNNING',
      exitCode: null,
      warnings: [],
      startedAt: now.toISOString(),
      ...(earlierAttempts.length > 0 ? { earlierAttempts } : {}),
    });
  }
  const commandId = await runner.send(event.node.id, {
    step: event.step,
    targetVersion: event.run.targetVersion,
    artifactBaseUrl: requireEnv('ARTIFACT_BASE_URL'),
    httpsProxy: event.run.httpsProxy,
    runId: event.run.runId,
    executionTimeout: String(timeout),
  });
  await recordCommand(store, event, commandId, now, timeout);
  logger.info('step started', { runId: event.run.runId, nodeId: event.node.id, step: event.step, commandId });
  return { commandId, served: 'sent' };
};

/** Records the step's command (with the task token its completion answers) and points the checkpoint at it. */
async function recordCommand(store: FleetStore, event: RunStepEvent, commandId: string, sentAt: Date, timeout: number): Promise<PendingCommand> {
  const command: PendingCommand = {
    commandId,
    taskToken: event.taskToken,
    runId: event.run.runId,
    cluster: event.run.cluster,
    nodeId: event.node.id,
    step: event.step,
    targetVersion: event.run.targetVersion,
    ignoreFailure: failureIgnored(event.step, event.run.ignoreInspectFailures),
    sentAt: sentAt.toISOString(),
    timeoutSeconds: timeout,
    // Keep the token a day past the step's own timeout, then let TTL remove it.
    ttl: Math.floor(sentAt.getTime() / 1000) + timeout + 86_400,
  };
  await store.recordCommand(command);
  return command;
}

/** Serves a retried step from the command its earlier attempt started. */
async function takeOver(
  deps: CompletionDeps,
  runner: SsmCommandRunner,
  earlier: PendingCommand & { state: string },
  event: RunStepEvent,
): Promise<RunStepResult> {
  const { commandId } = earlier;
  const log = { runId: earlier.runId, nodeId: earlier.nodeId, step: earlier.step, commandId };
  for (let round = 0; round < 20; round++) {
    const command = round === 0 ? earlier : await deps.store.getCommand(commandId);
    if (command === null) break;
    if (command.state === 'ANSWERED') {
      // Answered meanwhile, to a task that still waited: nothing is left for this attempt.
      logger.warn("the earlier attempt's result was taken meanwhile", log);
      return { commandId, served: 'adopted' };
    }
    if (command.state === 'STALE') {
      // The command ended and its result reached a task that no longer waited: hand that result to this one.
      const checkpoint = await deps.store.getCheckpoint(command.runId, command.nodeId, command.step);
      if (checkpoint !== null && checkpoint.status !== 'RUNNING') {
        await answer(deps, commandId, event.taskToken, resultFromCheckpoint(checkpoint));
        logger.info('retried step answered with the result its earlier attempt missed', log);
        return { commandId, served: 'stored-result' };
      }
    }
    if (command.state === 'PENDING') {
      const invocation = await runner.invocation(commandId, command.nodeId);
      if (FINAL_COMMAND_STATUSES.has(invocation.status)) {
        // Its status event never came (or comes late): GetCommandInvocation says how it ended.
        const claimed = await deps.store.claimCommand(commandId, deps.now());
        if (claimed !== null) {
          await completeCommand(deps, claimed, invocation, event.taskToken);
          logger.warn('status event missing; reconciled with GetCommandInvocation', { ...log, status: invocation.status });
          return { commandId, served: 'reconciled' };
        }
      } else if (
        deps.now().getTime() - Date.parse(command.sentAt) >=
        unresponsiveAfterSeconds(command.timeoutSeconds ?? stepTimeoutSeconds(command.step)) * 1000
      ) {
        // Still "in progress" long after SSM should have stopped it: the node went offline or its agent died.
        const claimed = await deps.store.claimCommand(commandId, deps.now());
        if (claimed !== null) {
          await runner
            .cancel(commandId, command.nodeId)
            .catch((error: unknown) => logger.warn('cancelling the command failed', { ...log, error: String(error) }));
          const seconds = Math.round((deps.now().getTime() - Date.parse(command.sentAt)) / 1000);
          await completeCommand(
            deps,
            claimed,
            {
              status: 'Unresponsive',
              exitCode: null,
              stdout: '',
              stderr: `no result from ${command.nodeId} ${seconds} s after ${command.step} started (timeout ${command.timeoutSeconds ?? '?'} s): the node went offline or its SSM agent stopped; the command was cancelled and the step's effect on the node is unknown`,
            },
            event.taskToken,
          );
          logger.warn('node unresponsive; command cancelled', log);
          return { commandId, served: 'unresponsive' };
        }
      } else if (await deps.store.repointCommand(commandId, event.taskToken)) {
        // Still running on the node: its completion now answers this attempt.
        logger.info('retried step takes over the command still running', log);
        return { commandId, served: 'adopted' };
      }
    }
    // Someone is answering it right now (ANSWERING) or it changed under us: look again shortly.
    await sleep(Math.min(2_000, 100 * 2 ** round));
  }
  throw new Error(`step ${earlier.step} on ${earlier.nodeId}: command ${commandId} could not be taken over (still being answered); the step is retried`);
}
