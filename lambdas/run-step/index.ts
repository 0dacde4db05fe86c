import type { RunContext } from '../../core/run-context.js';
import { STEP_TIMEOUT_SECONDS, isStepId, type StepId } from '../../core/steps.js';
import { FleetStore } from '../../adapters/store.js';
import { SsmCommandRunner } from '../../adapters/ssm.js';
import { documentClient, requireEnv, ssmClient } from '../../adapters/aws-clients.js';
import { logger } from '../../adapters/logger.js';

export interface RunStepEvent {
  taskToken: string;
  step: StepId;
  node: { id: string };
  run: RunContext;
}

/**
 * Starts one runbook step on one node and returns at once: the state machine waits on the task token,
 * which `command-finished` answers when SSM reports the command done. No polling loop.
 */
export const handler = async (event: RunStepEvent): Promise<{ commandId: string }> => {
  if (!isStepId(event.step)) throw new Error(`unknown step ${String(event.step)}`);
  const store = new FleetStore(documentClient(), requireEnv('TABLE_NAME'));
  const runner = new SsmCommandRunner(ssmClient(), requireEnv('DOCUMENT_NAME'));
  const now = new Date();
  const timeout = STEP_TIMEOUT_SECONDS[event.step];
  await store.putCheckpoint(event.run.runId, {
    nodeId: event.node.id,
    step: event.step,
    status: 'RUNNING',
    exitCode: null,
    warnings: [],
    startedAt: now.toISOString(),
  });
  const commandId = await runner.send(
    event.node.id,
    {
      step: event.step,
      targetVersion: event.run.targetVersion,
      artifactBaseUrl: requireEnv('ARTIFACT_BASE_URL'),
      httpsProxy: event.run.httpsProxy,
      runId: event.run.runId,
      executionTimeout: String(timeout),
    },
    timeout,
  );
  await store.putCommand({
    commandId,
    taskToken: event.taskToken,
    runId: event.run.runId,
    cluster: event.run.cluster,
    nodeId: event.node.id,
    step: event.step,
    targetVersion: event.run.targetVersion,
    ignoreFailure: event.step === 'pre-upgrade-validation' && event.run.ignoreInspectFailures,
    sentAt: now.toISOString(),
    // Keep the token a day past the step's own timeout, then let TTL remove it.
    ttl: Math.floor(now.getTime() / 1000) + timeout + 86_400,
  });
  logger.info('step started', { runId: event.run.runId, nodeId: event.node.id, step: event.step, commandId });
  return { commandId };
};
