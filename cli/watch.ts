import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { Command } from 'commander';
import type { Summary } from '../core/summary.js';
import { globalFlags, StackClients } from './aws.js';
import { EXIT_OK, EXIT_RUN_FAILED, UsageError } from './errors.js';
import { pauseLimitSecondsOf, pauseUntil } from '../core/pause.js';
import { formatSummary } from './format-summary.js';
import { WatchView } from './watch-view.js';

/** Events newer than `after`, oldest first: read newest-first pages until the known part is reached. */
export async function newEvents(clients: StackClients, executionArn: string, after: number): Promise<HistoryEvent[]> {
  const fresh: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await clients.sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1000, nextToken }));
    for (const e of page.events ?? []) {
      if ((e.id ?? 0) <= after) return fresh.reverse();
      fresh.push(e);
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return fresh.reverse();
}

/**
 * Every history of a run: the execution's own and, for its Distributed Maps, each child execution's
 * (found through the Map Runs its history names). Returns the new events, oldest first, with their source.
 */
export class RunHistories {
  /** Child execution ARN → finished. */
  private readonly children = new Map<string, boolean>();
  /** Map Run ARN → still worth listing. */
  private readonly mapRuns = new Map<string, boolean>();

  constructor(
    private readonly clients: StackClients,
    private readonly executionArn: string,
    private readonly view: WatchView,
  ) {}

  async poll(): Promise<{ event: HistoryEvent; source: string }[]> {
    const fresh: { event: HistoryEvent; source: string }[] = [];
    const take = async (arn: string, source: string) => {
      for (const event of await newEvents(this.clients, arn, this.view.seenOf(source))) {
        fresh.push({ event, source });
        const runArn = event.mapRunStartedEventDetails?.mapRunArn;
        if (runArn !== undefined) this.mapRuns.set(runArn, true);
        if (source !== '' && /^Execution(Succeeded|Failed|Aborted|TimedOut)$/.test(event.type ?? '')) this.children.set(arn, true);
      }
    };
    await take(this.executionArn, '');
    // A child's history may name a Map Run of its own (a group's nodes): list that one in the same poll, or a
    // run that ends meanwhile is drawn without its last group's nodes.
    let listed: number;
    do {
      listed = this.mapRuns.size;
      await this.pollMapRuns(take);
    } while (this.mapRuns.size !== listed);
    // Histories interleave in time: show them in the order things happened.
    return fresh.sort((a, b) => (a.event.timestamp?.getTime() ?? 0) - (b.event.timestamp?.getTime() ?? 0));
  }

  private async pollMapRuns(take: (arn: string, source: string) => Promise<void>): Promise<void> {
    for (const [runArn, open] of this.mapRuns) {
      if (!open) continue;
      let nextToken: string | undefined;
      let running = 0;
      do {
        const page = await this.clients.sfn.send(new ListExecutionsCommand({ mapRunArn: runArn, maxResults: 1000, nextToken }));
        for (const e of page.executions ?? []) {
          if (e.executionArn === undefined) continue;
          if (!this.children.has(e.executionArn)) this.children.set(e.executionArn, false);
          if (e.status === 'RUNNING') running += 1;
        }
        nextToken = page.nextToken;
      } while (nextToken !== undefined);
      // A Map Run whose children all ended and whose Map has moved on has nothing more to show.
      if (running === 0 && this.view.status !== 'RUNNING') this.mapRuns.set(runArn, false);
    }
    for (const [arn, finished] of this.children) {
      if (finished) continue;
      await take(arn, arn);
    }
  }
}

/** The run's summary: the execution's output when it succeeded, else the RUN record (a stopped run's is written by run-stopped). */
export async function runSummary(clients: StackClients, view: WatchView, runId: string, waitMs: number): Promise<Summary | null> {
  if (view.status === 'SUCCEEDED' && view.output !== null && typeof view.output === 'object' && 'counts' in view.output) return view.output as Summary;
  if (view.cluster === '') return null;
  const store = await clients.store();
  const deadline = Date.now() + waitMs;
  for (;;) {
    const run = await store.getRunRecord(view.cluster, runId);
    if (run?.summary !== undefined) return run.summary;
    if (Date.now() >= deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export interface WatchOptions {
  json?: boolean;
  interval: number;
  /** Redraw in place (a terminal) or print plain lines (a pipe, a CI log). */
  tty: boolean;
  /** Stop after one look (status) instead of following the run to its end. */
  once?: boolean;
}

/** The run's open pause with its limit (from the execution input), or null; a table that cannot be named shows none. */
async function openPause(clients: StackClients, runId: string, input: object): Promise<WatchView['paused']> {
  let pause;
  try {
    pause = await (await clients.pauses()).open(runId);
  } catch (error) {
    if (error instanceof UsageError) return null;
    throw error;
  }
  return pause === null ? null : { pausedBy: pause.pausedBy, pausedAt: pause.pausedAt, until: pauseUntil(pause, pauseLimitSecondsOf(input)) };
}

/** Follows a run from its execution history until it ends, then prints the summary; returns the exit code. */
export async function watchRun(clients: StackClients, run: string, opts: WatchOptions): Promise<number> {
  const executionArn = await clients.executionArn(run);
  const runId = executionArn.split(':').pop() ?? run;
  const view = new WatchView();
  const err = process.stderr;
  let drawn = 0;
  let tick = 0;
  const draw = () => {
    if (!opts.tty || opts.json) return;
    const frame = view.frame(Date.now(), tick++);
    err.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${frame.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    drawn = frame.length;
  };
  const histories = new RunHistories(clients, executionArn, view);
  const pollAll = async () => {
    for (const { event, source } of await histories.poll()) view.add(event, source);
    if (view.status === 'RUNNING') view.setPause(await openPause(clients, runId, view.input), Date.now());
  };
  for (;;) {
    await pollAll();
    const lines = view.take();
    if (!opts.tty && !opts.json) for (const l of lines) process.stdout.write(`${l}\n`);
    draw();
    if (view.status !== 'RUNNING' || opts.once) break;
    // The history may lag the status by a moment: ask once more after the execution has ended.
    const described = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') {
      await pollAll();
      if (!opts.tty && !opts.json) for (const l of view.take()) process.stdout.write(`${l}\n`);
      draw();
      if (view.status === 'RUNNING') view.status = described.status as WatchView['status'];
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, opts.interval));
  }
  if (view.status === 'RUNNING') {
    if (opts.json)
      process.stdout.write(
        `${JSON.stringify({ runId, status: 'RUNNING', ...(view.paused ? { paused: view.paused } : {}), nodes: [...view.nodes.values()] }, null, 2)}\n`,
      );
    return EXIT_OK;
  }
  const summary = await runSummary(clients, view, runId, view.status === 'SUCCEEDED' ? 0 : 30_000);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(summary ?? { runId, status: view.status, error: view.error, cause: view.cause }, null, 2)}\n`);
  } else if (summary !== null) {
    process.stdout.write(`${formatSummary(summary)}\n`);
    if (view.status === 'ABORTED') process.stdout.write(`Execution: stopped${view.cause ? ` (${view.cause})` : ''}\n`);
  } else {
    process.stdout.write(`\nRun ${runId}: ${view.status}${view.error ? ` — ${view.error}: ${view.cause}` : ''}\n`);
  }
  return view.status === 'SUCCEEDED' && (summary === null || summary.status === 'SUCCEEDED') ? EXIT_OK : EXIT_RUN_FAILED;
}

export function watchCommand(): Command {
  return new Command('watch')
    .description("Follow a run live: a line per group, each node's current step and elapsed time, warnings, failures; ends with the summary.")
    .argument('<run>', 'run id (execution name) or execution ARN')
    .option('--interval <ms>', 'how often to poll the execution history', (v) => Number(v), 1000)
    .option('--plain', 'print plain lines even on a terminal (the default when stdout is not a TTY)')
    .option('--json', 'print only the final summary as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  fleet-upgrade watch prod-als-3.2.0-20261124T1030',
        '  fleet-upgrade --endpoint http://127.0.0.1:4599 watch demo-3.1.0-20261124T1030 --plain',
        '',
        'Exit codes: 0 the run succeeded, 1 it ended otherwise, 2 bad usage.',
      ].join('\n'),
    )
    .action(async (run: string, flags: { interval: number; plain?: boolean; json?: boolean }, command: Command) => {
      const clients = new StackClients(globalFlags(command));
      try {
        process.exitCode = await watchRun(clients, run, {
          interval: flags.interval,
          tty: process.stderr.isTTY === true && flags.plain !== true,
          ...(flags.json ? { json: true } : {}),
        });
      } finally {
        clients.destroy();
      }
    });
}
