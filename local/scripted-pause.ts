import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, sfnClient } from '../adapters/aws-clients.js';
import { releaseHeldNodes, type HoldSettings } from '../adapters/held-release.js';
import { CanaryStore } from '../adapters/canary-store.js';
import { planKey } from '../adapters/keys.js';
import { PauseStore } from '../adapters/pause-store.js';
import { FleetStore } from '../adapters/store.js';
import { Table } from '../adapters/table.js';
import { TaskCallback } from '../adapters/task-callback.js';

/** `rehearse --pause-after NODE [--resume-after S]`: when to pause, and when (if ever) to resume. */
export interface ScriptedPause {
  /** The operator pauses the run as soon as this node has started its upgrade (the gate let it through). */
  afterNode: string;
  /** Seconds after the pause that the operator resumes; absent: never (the pause runs to its limit). */
  resumeAfterSeconds?: number;
}

/**
 * The operator's `fleet-upgrade pause` and `resume`, scripted: the same store calls and task-token answers as
 * the CLI, with the operator's (unchecked) credentials. Polls the node's plan item for its start: a rehearsal
 * of a handful of nodes, 100 ms apart. Returns a stop function that ends the script when the run ends.
 */
export function startScriptedPause(
  script: ScriptedPause,
  ctx: { runId: string; tableName: string; settings: HoldSettings; say: (line: string) => void },
): () => Promise<void> {
  let done = false;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const table = new Table(documentClient(), ctx.tableName);
  const pauses = new PauseStore(table);
  const running = (async () => {
    while (!done) {
      const plan = await table.db.send(new GetCommand({ TableName: ctx.tableName, Key: planKey(ctx.runId, script.afterNode), ConsistentRead: true }));
      if (typeof plan.Item?.startedAt === 'string') break;
      await sleep(100);
    }
    if (done) return;
    const paused = await pauses.pause(ctx.runId, "the rehearsal's operator (--pause-after)", new Date().toISOString(), `after ${script.afterNode} started`);
    ctx.say(`the operator pauses the run after ${script.afterNode} started: ${paused.paused ? 'PAUSED' : 'already paused'}`);
    if (script.resumeAfterSeconds === undefined) return;
    const resumeAt = Date.now() + script.resumeAfterSeconds * 1000;
    while (!done && Date.now() < resumeAt) await sleep(100);
    const pause = await pauses.open(ctx.runId);
    if (done || pause === null) return;
    await pauses.end(ctx.runId, pause, 'RESUMED', "the rehearsal's operator (--resume-after)", new Date().toISOString());
    const store = new FleetStore(documentClient(), ctx.tableName);
    const released = await releaseHeldNodes(
      { store, pauses, canaries: new CanaryStore(table), callback: new TaskCallback(sfnClient()) },
      ctx.runId,
      ctx.settings,
      () => new Date().toISOString(),
    );
    ctx.say(`the operator resumes the run${released.length > 0 ? `: ${released.join(', ')} go on` : ''}`);
  })().catch((error: unknown) => ctx.say(`the scripted pause failed: ${String(error)}`));
  return async () => {
    done = true;
    await running;
  };
}
