import { randomUUID } from 'node:crypto';
import type { EventRule } from './eventbridge.js';
import type { LocalHandler } from './state-machine-runner.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './state-machine-runner.js';

/**
 * How often a schedule rule fires locally, whatever its expression says. Local approvals wait seconds to
 * minutes (`--approval-timeout-minutes 0.1` is 6 s), where the stack's `rate(5 minutes)` would never fire in
 * time; the reminder rule's decisions are proportional to the wait, so a faster sweep shows the same emails.
 */
export const LOCAL_SCHEDULE_INTERVAL_MS = 1000;

/** The event EventBridge hands a schedule rule's target. */
export function scheduledEvent(rule: EventRule, now: Date): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT,
    time: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${rule.logicalId}`],
    detail: {},
  };
}

/**
 * The template's schedule rules, run locally: each invokes its targets every `intervalMs` with a scheduled
 * event, as EventBridge does on its schedule (the targets run as their functions: the handlers given are
 * already held to their role and timeout). A target still running when the next tick comes is not invoked
 * again: a loaded machine would pile sweeps up. A failed invocation is reported; the next tick is its retry
 * (the stack's schedule targets have no retries either).
 */
export class LocalSchedules {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly rules: readonly EventRule[],
    private readonly handlers: ReadonlyMap<string, LocalHandler>,
    private readonly onError: (rule: string, target: string, error: unknown) => void,
    private readonly intervalMs = LOCAL_SCHEDULE_INTERVAL_MS,
  ) {
    for (const rule of rules) {
      if (rule.schedule === undefined) continue;
      if (!/^(rate|cron)\(.+\)$/.test(rule.schedule)) throw new Error(`rule ${rule.logicalId}: schedule ${rule.schedule} is neither rate(…) nor cron(…)`);
      for (const target of rule.targets)
        if (!handlers.has(target)) throw new Error(`rule ${rule.logicalId} targets function ${target}, which has no local handler`);
    }
  }

  /** Starts every schedule rule's timer. */
  start(): this {
    for (const rule of this.rules) {
      if (rule.schedule === undefined) continue;
      const timer = setInterval(() => this.fire(rule), this.intervalMs);
      timer.unref();
      this.timers.push(timer);
    }
    return this;
  }

  /** Invokes a rule's targets once now (each unless still running from the last tick). */
  fire(rule: EventRule): void {
    for (const target of rule.targets) {
      const key = `${rule.logicalId} ${target}`;
      const handler = this.handlers.get(target);
      if (this.running.has(key) || handler === undefined) continue;
      const job = (async () => {
        try {
          await handler(scheduledEvent(rule, new Date()));
        } catch (error) {
          this.onError(rule.logicalId, target, error);
        }
      })();
      this.running.set(key, job);
      void job.finally(() => this.running.delete(key));
    }
  }

  /** Stops the timers and waits for invocations under way. */
  async stop(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await Promise.allSettled([...this.running.values()]);
  }
}
