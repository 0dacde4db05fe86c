import type { CfnTemplate } from './cfn-template.js';
import type { LocalHandler } from './runner-types.js';

/** An EventBridge rule of the template, its intrinsics resolved: which events (or which schedule) reach which functions. */
export interface EventRule {
  logicalId: string;
  /** The event pattern; absent on a schedule rule. */
  pattern?: Record<string, unknown>;
  /** The schedule expression (`rate(5 minutes)`, `cron(…)`) of a schedule rule; local/schedules.ts runs it. */
  schedule?: string;
  /** Logical ids of the functions it invokes. */
  targets: string[];
}

const FUNCTION_ARN = /^arn:aws:lambda:[^:]+:[^:]+:function:([^:]+)$/;

/** The rules of an already resolved template (local/template.ts resolves intrinsics first). */
export function eventRules(resources: CfnTemplate['Resources']): EventRule[] {
  const rules: EventRule[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::Events::Rule') continue;
    const props = resource.Properties ?? {};
    if (props.State === 'DISABLED') continue;
    const targets = ((props.Targets ?? []) as { Arn?: unknown }[]).map((t) => {
      const id = FUNCTION_ARN.exec(String(t.Arn))?.[1];
      if (id === undefined) throw new Error(`rule ${logicalId} targets ${String(t.Arn)}, which is not a function of the stack`);
      return id;
    });
    if (props.EventPattern === undefined && typeof props.ScheduleExpression !== 'string')
      throw new Error(`rule ${logicalId} has neither an event pattern nor a schedule`);
    rules.push({
      logicalId,
      targets,
      ...(props.EventPattern !== undefined ? { pattern: props.EventPattern as Record<string, unknown> } : {}),
      ...(typeof props.ScheduleExpression === 'string' ? { schedule: props.ScheduleExpression } : {}),
    });
  }
  return rules;
}

/**
 * Whether an event matches a rule's pattern, as EventBridge decides: every field the pattern names must
 * match; a list of values matches any of them; an event field that is a list matches if any element does.
 * Operators: prefix, anything-but, exists. Any other operator is refused, so a new one in the template
 * fails loudly here instead of matching wrongly.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 */
export function matchesPattern(pattern: Record<string, unknown>, event: unknown): boolean {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return false;
  const fields = event as Record<string, unknown>;
  return Object.entries(pattern).every(([key, sub]) => {
    const value = fields[key];
    if (Array.isArray(sub)) return matchesValues(sub, value);
    if (sub !== null && typeof sub === 'object') return value !== undefined && matchesPattern(sub as Record<string, unknown>, value);
    throw new Error(`event pattern field ${key}: expected a list of values or a nested pattern, got ${JSON.stringify(sub)}`);
  });
}

function matchesValues(matchers: unknown[], value: unknown): boolean {
  const values = Array.isArray(value) ? value : [value];
  return matchers.some((m) => {
    if (m !== null && typeof m === 'object' && 'exists' in m) return (m as { exists: boolean }).exists === (value !== undefined);
    if (value === undefined) return false;
    return values.some((v) => matchesOne(m, v));
  });
}

function matchesOne(matcher: unknown, value: unknown): boolean {
  if (matcher === null || typeof matcher !== 'object') return matcher === value;
  const entries = Object.entries(matcher);
  const [op, arg] = entries[0] ?? [];
  if (entries.length !== 1 || op === undefined) throw new Error(`event pattern: one operator per matcher, got ${JSON.stringify(matcher)}`);
  switch (op) {
    case 'prefix':
      return typeof value === 'string' && typeof arg === 'string' && value.startsWith(arg);
    case 'anything-but':
      if (arg !== null && typeof arg === 'object' && !Array.isArray(arg)) return !matchesOne(arg, value);
      return !(Array.isArray(arg) ? arg : [arg]).includes(value);
    default:
      throw new Error(`event pattern operator ${op} is not supported locally`);
  }
}

/** Lambda's own retries of an asynchronous invocation whose function failed: two more attempts, after 1 and 2 minutes. */
export const ASYNC_RETRY_WAITS_MS = [60_000, 120_000];

/** One asynchronous invocation a rule made: how many attempts it took and whether one succeeded. */
export interface Delivery {
  rule: string;
  target: string;
  attempts: number;
  succeeded: boolean;
  errors: string[];
}

/**
 * The default event bus, locally: an event put on it goes to the target of every rule whose pattern it
 * matches, and only there. Each target is invoked asynchronously, as EventBridge invokes Lambda: a function
 * error (a throw, a timeout) is retried as Lambda retries asynchronous invocations, then the event is
 * dropped (the stack configures no failure destination).
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
 * FLEET_UPGRADE_RETRY_INTERVAL_MS (tests) replaces each wait, as for the state machine's retriers.
 */
export class LocalEventBus {
  readonly deliveries: Delivery[] = [];
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly rules: readonly EventRule[],
    private readonly handlers: ReadonlyMap<string, LocalHandler>,
    private readonly retryWaitsMs: readonly number[] = retryWaits(),
  ) {}

  /** PutEvents: resolves once every matching target has run, retries included (so callers can wait for it). */
  async put(event: unknown): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const rule of this.rules) {
      if (rule.pattern === undefined || !matchesPattern(rule.pattern, event)) continue;
      for (const target of rule.targets) jobs.push(this.invokeAsync(rule.logicalId, target, event));
    }
    await Promise.all(jobs);
  }

  /** Resolves when no delivery is under way. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private invokeAsync(rule: string, target: string, event: unknown): Promise<void> {
    const handler = this.handlers.get(target);
    if (handler === undefined) throw new Error(`rule ${rule} targets function ${target}, which has no local handler`);
    const delivery: Delivery = { rule, target, attempts: 0, succeeded: false, errors: [] };
    this.deliveries.push(delivery);
    const job = (async () => {
      for (;;) {
        delivery.attempts += 1;
        try {
          // Lambda hands the function the event as JSON.
          await handler(JSON.parse(JSON.stringify(event)));
          delivery.succeeded = true;
          return;
        } catch (error) {
          delivery.errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
          const wait = this.retryWaitsMs[delivery.attempts - 1];
          if (wait === undefined) {
            process.stderr.write(
              `local EventBridge: ${target} failed ${delivery.attempts} times on an event of rule ${rule}; the event is dropped: ${delivery.errors.at(-1) ?? ''}\n`,
            );
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
    })();
    this.running.add(job);
    void job.finally(() => this.running.delete(job));
    return job;
  }
}

function retryWaits(env: NodeJS.ProcessEnv = process.env): number[] {
  const ms = Number(env.FLEET_UPGRADE_RETRY_INTERVAL_MS ?? '');
  if (env.FLEET_UPGRADE_RETRY_INTERVAL_MS === undefined || env.FLEET_UPGRADE_RETRY_INTERVAL_MS === '' || !Number.isFinite(ms) || ms < 0)
    return [...ASYNC_RETRY_WAITS_MS];
  return ASYNC_RETRY_WAITS_MS.map(() => ms);
}
