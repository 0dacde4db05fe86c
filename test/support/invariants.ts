import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { ClusterFile } from '../../local/cluster-file.js';
import { inspectSandbox } from '../../local/sandbox.js';
import type { RehearsalResult } from '../../local/rehearsal.js';
import { FleetStore } from '../../adapters/store.js';
import { PauseStore } from '../../adapters/pause-store.js';
import { HealthStore } from '../../adapters/health-store.js';
import { healthQuestionOpen } from '../../core/health.js';
import { Table } from '../../adapters/table.js';
import { documentClient } from '../../adapters/aws-clients.js';
import { CLUSTER_STEPS, WINDOW_STEPS } from '../../core/steps.js';

/** How long after a question was asked a node may still start (its gate passed just before the question was written). */
const HOLD_SLACK_MS = 500;

/** Every approval request of a run (all pages of the scan: tests share one table across many runs). */
async function runApprovals(tableName: string, runId: string): Promise<{ nodeId: string; createdAt: string; decidedAt?: string }[]> {
  const found: { nodeId: string; createdAt: string; decidedAt?: string }[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'begins_with(pk, :approval) AND sk = :approval_sk AND runId = :run',
        ExpressionAttributeValues: { ':approval': 'APPROVAL#', ':approval_sk': 'APPROVAL', ':run': runId },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? [])
      found.push({
        nodeId: String(item.nodeId),
        createdAt: String(item.createdAt),
        ...(typeof item.decidedAt === 'string' ? { decidedAt: item.decidedAt } : {}),
      });
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return found;
}

/** Node statuses that say the node is at its old version. */
const AT_OLD = new Set(['ROLLED_BACK', 'NOT_STARTED', 'FAILED', 'PREPARED', 'SKIPPED']);

/**
 * The promise every run keeps, however it ended, checked on the sandboxes and in DynamoDB:
 * each node at its original or its target version with its state intact and its service up (or
 * explicitly NEEDS_ATTENTION), maintenance mode off, the lock released, no approval or task token left
 * waiting, no step left RUNNING, DynamoDB agreeing with the sandboxes, and a summary that says what
 * happened. Returns the violations (empty: every invariant held). A node's "original" version is the
 * cluster file's, unless `versionsBefore` says what it ran when this run began (a resumed run).
 */
export async function invariantViolations(r: RehearsalResult, cluster: ClusterFile, opts: { versionsBefore?: Record<string, string> } = {}): Promise<string[]> {
  const violations: string[] = [];
  const bad = (text: string) => violations.push(text);
  const store = new FleetStore(documentClient(), r.tableName);
  const { summary } = r;
  const target = summary.targetVersion;
  const { outcomes, checkpoints } = await store.runRecords(summary.runId);

  const inspected = new Map(await Promise.all(cluster.nodes.map(async (n) => [n.id, await inspectSandbox(r.nodeRoots.get(n.id) as string)] as const)));
  for (const clusterNode of cluster.nodes) {
    const node = { ...clusterNode, version: opts.versionsBefore?.[clusterNode.id] ?? clusterNode.version };
    const seen = inspected.get(node.id) as Awaited<ReturnType<typeof inspectSandbox>>;
    const status = summary.nodes[node.id]?.status;
    const record = await store.getNodeRecord(summary.cluster, node.id);
    const outcome = outcomes.find((o) => o.nodeId === node.id);
    // Left out by `only`: untouched, at its original version, and no step of its own ran on it.
    if (summary.notInRun?.includes(node.id)) {
      if (status !== undefined || outcome !== undefined) bad(`${node.id}: not in the run, yet the run recorded it (${String(status ?? outcome?.status)})`);
      if (seen.currentVersion !== node.version) bad(`${node.id}: not in the run, yet at ${String(seen.currentVersion)} instead of ${node.version}`);
      const own = checkpoints.filter((c) => c.nodeId === node.id && !CLUSTER_STEPS.includes(c.step)).map((c) => c.step);
      if (own.length > 0) bad(`${node.id}: not in the run, yet it ran ${own.join(', ')}`);
      continue;
    }
    if (status === undefined) bad(`${node.id}: missing from the summary`);
    if (outcome !== undefined && outcome.status !== status) bad(`${node.id}: summary says ${status}, DynamoDB's run record says ${outcome.status}`);
    if (status === 'NEEDS_ATTENTION') {
      // Explicitly handed to a human: the node record must say so too.
      if (record?.status !== 'NEEDS_ATTENTION') bad(`${node.id}: NEEDS_ATTENTION in the summary but ${String(record?.status)} in DynamoDB`);
      continue;
    }
    const expectedState = `${JSON.stringify(node.state ?? { node: node.id, roles: node.roles, data: `state of ${node.id}` }, null, 2)}\n`;
    if (seen.currentVersion !== node.version && seen.currentVersion !== target)
      bad(`${node.id}: at ${String(seen.currentVersion)}, neither its original ${node.version} nor the target ${target}`);
    if (!seen.serviceHealthy)
      bad(`${node.id}: service not healthy (heartbeat version ${String(seen.heartbeatVersion)}, current ${String(seen.currentVersion)})`);
    if (seen.stateJson !== expectedState) bad(`${node.id}: state.json changed`);
    if (seen.currentVersion === target && node.version !== target) {
      if (status !== 'UPGRADED') bad(`${node.id}: runs ${target} but the summary says ${String(status)}`);
      if (record?.version !== target || record.status !== 'UPGRADED')
        bad(`${node.id}: runs ${target} but DynamoDB says ${String(record?.version)} ${String(record?.status)}`);
    }
    if (seen.currentVersion === node.version && node.version !== target) {
      if (status === undefined || !AT_OLD.has(status)) bad(`${node.id}: runs its original ${node.version} but the summary says ${String(status)}`);
      if (record !== null && record.version !== undefined && record.version !== node.version)
        bad(`${node.id}: runs ${node.version} but DynamoDB records ${String(record.version)}`);
    }
  }

  // Maintenance mode may stay on only when switching it off failed past its retries, and then explicitly:
  // the summary says so and the operators were told to switch it off by hand (as NEEDS_ATTENTION for a node).
  const handedOver =
    summary.maintenanceMode.disabledAt === null &&
    r.notifications.some((n) => n.attributes.kind === 'maintenance-still-on' && n.attributes.runId === summary.runId);
  for (const [id, seen] of inspected) if (seen.maintenance && !(handedOver && id === summary.maintenanceMode.node)) bad(`maintenance mode still on (${id})`);
  if (summary.maintenanceMode.enabledAt !== null && summary.maintenanceMode.disabledAt === null && !handedOver)
    bad('the summary says maintenance mode was never switched off, and nobody was told');
  if ((await store.getLock(summary.cluster)) !== null) bad(`the lock of ${summary.cluster} is still held`);
  if (!summary.lockReleased) bad('the summary says the lock was not released');
  if ((await store.pendingApprovals()).some((a) => a.runId === summary.runId)) bad('an approval is still pending');
  for (const c of checkpoints) if (c.status === 'RUNNING') bad(`${c.nodeId} ${c.step}: checkpoint still RUNNING`);

  const waiting = await documentClient().send(
    new ScanCommand({
      TableName: r.tableName,
      FilterExpression: 'begins_with(pk, :command) AND runId = :run AND #state IN (:pending, :answering)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':command': 'COMMAND#', ':run': summary.runId, ':pending': 'PENDING', ':answering': 'ANSWERING' },
    }),
  );
  for (const item of waiting.Items ?? []) bad(`command ${String(item.commandId)} (${String(item.nodeId)} ${String(item.step)}) still ${String(item.state)}`);

  // A failed node holds the run: no node started its upgrade while a question about another was open, and
  // at the end no question is open and no node still waits. Slack: a node whose gate passed just before the
  // question was written may start a moment after it.
  const startedAt = new Map<string, number>();
  for (const c of checkpoints) {
    if (!WINDOW_STEPS.includes(c.step)) continue;
    startedAt.set(c.nodeId, Math.min(startedAt.get(c.nodeId) ?? Number.POSITIVE_INFINITY, Date.parse(c.startedAt)));
  }
  for (const a of await runApprovals(r.tableName, summary.runId)) {
    const opened = Date.parse(a.createdAt) + HOLD_SLACK_MS;
    const decided = a.decidedAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(a.decidedAt);
    for (const [id, t] of startedAt)
      if (id !== a.nodeId && t > opened && t < decided) bad(`${id} started its upgrade while the question about ${a.nodeId} was open`);
  }
  for (const h of await store.openHolds(summary.runId)) bad(`the question about ${h.nodeId} still holds the run`);
  for (const h of await store.heldNodes(summary.runId)) if (h.taskToken !== undefined) bad(`${h.nodeId} is still held, waiting`);
  if ((await new PauseStore(new Table(documentClient(), r.tableName)).open(summary.runId)) !== null) bad('the run is still paused');
  if (healthQuestionOpen(await new HealthStore(new Table(documentClient(), r.tableName)).get(summary.runId))) bad('a health question is still open');

  const run = await store.getRun(summary.cluster, summary.runId);
  if (run?.status !== summary.status) bad(`the run record says ${String(run?.status)}, the summary ${summary.status}`);
  if (!['SUCCEEDED', 'PREPARED'].includes(summary.status) && (summary.failure === null || summary.failure.message === ''))
    bad(`status ${summary.status} without a failure explained`);
  if (summary.status === 'SUCCEEDED' && summary.failure !== null) bad('SUCCEEDED with a failure');
  return violations;
}
