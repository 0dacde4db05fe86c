import { sentCommandAction } from '../../core/earlier-attempt.js';
import { TAKE_OVER_ROUNDS, takeOverAction, takeOverBackoffMs, takeOverReads, unresponsiveInvocation, type TakeOverAction } from '../../core/take-over.js';
import type { PendingCommand } from '../../adapters/store.js';
import type { SsmCommandRunner } from '../../adapters/ssm.js';
import { answer, completeCommand, type CompletionDeps } from '../../adapters/command-completion.js';
import { logger } from '../../adapters/logger.js';
import { recordCommand, stepTimeoutSeconds, type RunStepEvent, type RunStepResult } from './command.js';

type StoredCommand = PendingCommand & { state: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Serves a retried step from the command its earlier attempt started, as core/take-over.ts decides round by round. */
export async function takeOver(deps: CompletionDeps, runner: SsmCommandRunner, earlier: StoredCommand, taskToken: string): Promise<RunStepResult> {
  const { commandId } = earlier;
  for (let round = 0; round < TAKE_OVER_ROUNDS; round++) {
    const command = round === 0 ? earlier : await deps.store.getCommand(commandId);
    const reads = command === null ? 'nothing' : takeOverReads(command.state);
    const checkpoint = reads === 'checkpoint' && command !== null ? await deps.store.getCheckpoint(command.runId, command.nodeId, command.step) : undefined;
    const invocation = reads === 'invocation' && command !== null ? await runner.invocation(commandId, command.nodeId) : undefined;
    const defaultTimeoutSeconds = command === null ? 0 : stepTimeoutSeconds(command.step);
    const action = takeOverAction({ command, checkpoint, invocation, now: deps.now(), defaultTimeoutSeconds });
    if (action.kind === 'give-up') break;
    const served = command === null ? null : await carryOut(action, deps, runner, command, taskToken);
    if (served !== null) return { commandId, served };
    await sleep(takeOverBackoffMs(round));
  }
  throw new Error(`step ${earlier.step} on ${earlier.nodeId}: command ${commandId} could not be taken over (still being answered); the step is retried`);
}

/** Carries out one round's decision; null when the command changed under us (claimed or re-pointed by someone else) or is not ready. */
async function carryOut(
  action: TakeOverAction,
  deps: CompletionDeps,
  runner: SsmCommandRunner,
  command: StoredCommand,
  taskToken: string,
): Promise<RunStepResult['served'] | null> {
  const { commandId } = command;
  const log = { runId: command.runId, nodeId: command.nodeId, step: command.step, commandId };
  switch (action.kind) {
    case 'answered-meanwhile':
      logger.warn("the earlier attempt's result was taken meanwhile", log);
      return 'adopted';
    case 'answer-stored':
      await answer(deps, commandId, taskToken, action.result);
      logger.info('retried step answered with the result its earlier attempt missed', log);
      return 'stored-result';
    case 'reconcile': {
      const claimed = await deps.store.claimCommand(commandId, deps.now());
      if (claimed === null) return null;
      await completeCommand(deps, claimed, action.invocation, taskToken);
      logger.warn('status event missing; reconciled with GetCommandInvocation', { ...log, status: action.invocation.status });
      return 'reconciled';
    }
    case 'cancel-unresponsive': {
      const claimed = await deps.store.claimCommand(commandId, deps.now());
      if (claimed === null) return null;
      await runner.cancel(commandId, command.nodeId).catch((error: unknown) => logger.warn('cancelling the command failed', { ...log, error: String(error) }));
      await completeCommand(deps, claimed, unresponsiveInvocation(command, deps.now()), taskToken);
      logger.warn('node unresponsive; command cancelled', log);
      return 'unresponsive';
    }
    case 'repoint':
      if (!(await deps.store.repointCommand(commandId, taskToken))) return null;
      logger.info('retried step takes over the command still running', log);
      return 'adopted';
    case 'look-again':
    case 'give-up':
      return null;
  }
}

/**
 * An earlier attempt stopped after its RUNNING checkpoint but before it recorded its command: if its
 * SendCommand went through, the node is running (or ran) the step, and that command is taken over instead of
 * running the step a second time. Null when SSM lists no such command.
 */
export async function takeOverSent(deps: CompletionDeps, runner: SsmCommandRunner, event: RunStepEvent, since: string): Promise<RunStepResult | null> {
  const { runId } = event.run;
  for (const sent of await runner.findSent(event.node.id, runId, event.step, new Date(since))) {
    const action = sentCommandAction(await deps.store.getCommand(sent));
    if (action.kind === 'skip') continue;
    logger.warn('an earlier attempt sent this step but stopped before it recorded the command; taking it over', {
      runId,
      nodeId: event.node.id,
      step: event.step,
      commandId: sent,
    });
    if (action.kind === 'point-checkpoint') {
      const timeout = action.command.timeoutSeconds ?? stepTimeoutSeconds(event.step);
      await deps.store.setCheckpointCommand(runId, event.node.id, event.step, sent, timeout);
      return takeOver(deps, runner, action.command, event.taskToken);
    }
    const command = await recordCommand(deps.store, event, sent, new Date(since), stepTimeoutSeconds(event.step));
    return takeOver(deps, runner, { ...command, state: 'PENDING' }, event.taskToken);
  }
  return null;
}
