import { z } from 'zod';
import { InputValidationError } from './errors.js';
import { VERSION_PATTERN } from './version.js';
import { DEFAULT_ROLE_ORDER, UNMATCHED } from './role-order.js';
import { unusedRoleMessage, unusedRoles } from './unused-roles.js';
import { EXECUTION_TIMEOUT_DAYS, MAX_APPROVAL_TIMEOUT_MINUTES } from './execution-timeout.js';
import { DEFAULT_PAUSE_LIMIT_MINUTES } from './pause.js';
import { ON_FAILURE } from './failure-budget.js';
import { ISO_TIME } from './window.js';
import { ALARM_NAME_PATTERN, MAX_BAKE_SECONDS, MAX_HEALTH_ALARMS } from './health.js';

/**
 * The public contract: one JSON document accepted identically by StartExecution, the CLI and the rehearsal.
 * Every string that can reach a node is held to a strict pattern, so no shell metacharacter ever gets there.
 */

export const CLUSTER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const ROLE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
export const PROXY_PATTERN = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?\/?$/;
export { UNMATCHED } from './role-order.js';
export const MAX_NODES = 10_000;
/** Nodes of a group upgraded at once, at most. */
export const MAX_CONCURRENCY = 40;

const cluster = z.string().regex(CLUSTER_PATTERN, {
  message: 'expected a cluster name: letters, digits, "-" or "_", starting with a letter or digit, at most 63 characters',
});
const version = z.string().regex(VERSION_PATTERN, {
  message: 'expected a version like 3.2.0 or 3.2.0-rc.1 (dotted numbers, optional pre-release)',
});
const role = z.string().regex(ROLE_PATTERN, {
  message: 'expected a role name: lower-case letters, digits, "-" or "_", starting with a letter, at most 32 characters',
});
const nodeId = z.string().regex(NODE_ID_PATTERN, {
  message: 'expected a node id: letters, digits, ".", "-" or "_", starting with a letter or digit, at most 63 characters',
});

export const nodeSchema = z.strictObject({
  id: nodeId,
  roles: z.array(role).max(32, { message: 'expected at most 32 roles' }),
});

export const inputSchema = z
  .strictObject({
    cluster,
    targetVersion: version,
    roleOrder: z
      .array(role)
      .min(1, { message: 'expected at least one role (omit roleOrder to use the default order)' })
      .max(32, { message: 'expected at most 32 roles' })
      .refine((roles) => new Set(roles).size === roles.length, { message: 'expected each role once (found a duplicate)' })
      .refine((roles) => !roles.includes(UNMATCHED), {
        message: `"${UNMATCHED}" names the final group of nodes that match no role and cannot be used in roleOrder`,
      })
      .optional(),
    force: z.boolean({ message: 'expected true or false' }).default(false),
    ignoreInspectFailures: z.boolean({ message: 'expected true or false' }).default(false),
    concurrency: z
      .record(
        role,
        z
          .int({ message: 'expected a whole number' })
          .min(1, { message: 'expected at least 1' })
          .max(MAX_CONCURRENCY, { message: `expected at most ${MAX_CONCURRENCY}` }),
      )
      .default({}),
    /**
     * Per role (or `unmatched`), how many of its nodes must stay in service while its group upgrades:
     * a count (2) or a percentage of the role's nodes ("75%").
     */
    minHealthy: z
      .record(
        role,
        z.union(
          [
            z.int({ message: 'expected a whole number or a percentage like "75%"' }).min(0, { message: 'expected at least 0' }),
            z.string().regex(/^(100|[1-9]?[0-9])%$/, { message: 'expected a whole number or a percentage like "75%"' }),
          ],
          { message: 'expected a whole number or a percentage like "75%"' },
        ),
      )
      .default({}),
    nodes: z
      .array(nodeSchema)
      .min(1, { message: 'expected at least one node (omit nodes to discover them by tag)' })
      .max(MAX_NODES, { message: `expected at most ${MAX_NODES} nodes` })
      .refine((nodes) => new Set(nodes.map((n) => n.id)).size === nodes.length, { message: 'expected unique node ids (found a duplicate)' })
      .optional(),
    coreNode: nodeId.optional(),
    httpsProxy: z.string().regex(PROXY_PATTERN, { message: 'expected a proxy URL like http://proxy.example.com:3128 (no credentials, no path)' }).optional(),
    approval: z
      .strictObject({
        // Fractions allowed (0.1 = 6 s) so a rehearsal can show the timeout; a wait the execution cannot
        // outlive would end the run TIMED_OUT instead of applying onTimeout.
        timeoutMinutes: z
          .number({ message: 'expected a number of minutes' })
          .min(0.1, { message: 'expected at least 0.1 minutes' })
          .max(MAX_APPROVAL_TIMEOUT_MINUTES, {
            message:
              `expected at most ${MAX_APPROVAL_TIMEOUT_MINUTES} minutes (${MAX_APPROVAL_TIMEOUT_MINUTES / 1440} days: ` +
              `an execution times out after ${EXECUTION_TIMEOUT_DAYS} days, and the rest of the run needs time too)`,
          })
          .default(1440),
        onTimeout: z.enum(['rollback', 'abort'], { message: 'expected "rollback" or "abort"' }).default('rollback'),
      })
      .default({ timeoutMinutes: 1440, onTimeout: 'rollback' }),
    dryRun: z.boolean({ message: 'expected true or false' }).default(false),
    /** Check every node and stage the target package on the nodes that need it, then stop: no window. */
    prepareOnly: z.boolean({ message: 'expected true or false' }).default(false),
    /**
     * Resume a run that stopped (failed, aborted, stopped, timed out): nodes it upgraded are skipped by the
     * version check, and a node it left after its upgrade step but before validation restarts from `restart`.
     */
    resumeFrom: z
      .string({ message: 'expected the run id of an earlier run of this cluster' })
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/, { message: 'expected a run id (letters, digits, ".", "-", "_"; at most 80)' })
      .optional(),
    /** Upgrade only these nodes (kato's single-node upgrade); the cluster's other nodes are left alone. */
    only: z
      .array(nodeId)
      .min(1, { message: 'expected at least one node id (omit only to upgrade every node)' })
      .max(MAX_NODES, { message: `expected at most ${MAX_NODES} node ids` })
      .refine((ids) => new Set(ids).size === ids.length, { message: 'expected each node id once (found a duplicate)' })
      .optional(),
    /** Accept roles in roleOrder that no node of the cluster has (else refused as a likely typo). */
    allowUnusedRoles: z.boolean({ message: 'expected true or false' }).default(false),
    /**
     * How long `fleet-upgrade pause` may hold the run: past it the run stops as abort does (nodes not started
     * stay untouched, maintenance mode off, the lock released). Fractions allowed so a rehearsal can show it.
     */
    pauseLimitMinutes: z
      .number({ message: 'expected a number of minutes' })
      .min(0.1, { message: 'expected at least 0.1 minutes' })
      .max(MAX_APPROVAL_TIMEOUT_MINUTES, {
        message: `expected at most ${MAX_APPROVAL_TIMEOUT_MINUTES} minutes (an execution times out after ${EXECUTION_TIMEOUT_DAYS} days, and the rest of the run needs time too)`,
      })
      .default(DEFAULT_PAUSE_LIMIT_MINUTES),
    /**
     * Canary, then widen: after the first N nodes of the run (the first to start, in run order) are upgraded,
     * the run waits for a decision `continue` or `abort` (approval page, email, `decide`) before the rest.
     */
    canary: z
      .int({ message: 'expected a whole number of nodes' })
      .min(1, { message: 'expected at least 1 node' })
      .max(MAX_NODES, { message: `expected at most ${MAX_NODES} nodes` })
      .optional(),
    /**
     * A node whose window step fails: `ask` the operator (default), or `rollback-and-continue`: restore it
     * and go on without asking, until `maxFailedNodes` nodes failed; the next failure stops the run as abort does.
     */
    onFailure: z.enum(ON_FAILURE, { message: `expected ${ON_FAILURE.map((o) => `"${o}"`).join(' or ')}` }).default('ask'),
    /** With onFailure rollback-and-continue: failed nodes rolled back without asking, across the whole run (default 1). */
    maxFailedNodes: z
      .int({ message: 'expected a whole number' })
      .min(0, { message: 'expected at least 0' })
      .max(MAX_NODES, { message: `expected at most ${MAX_NODES}` })
      .optional(),
    /**
     * No node starts that is estimated to finish after this time (ISO 8601 with a zone); the run then ends
     * INCOMPLETE and `resumeFrom` carries on later.
     */
    notAfter: z
      .string({ message: 'expected an ISO time like 2026-12-01T06:00:00Z' })
      .regex(ISO_TIME, { message: 'expected an ISO time with a zone, like 2026-12-01T06:00:00Z or 2026-12-01T07:00:00+01:00' })
      .refine((text) => !Number.isNaN(Date.parse(text)), { message: 'expected a real date and time, like 2026-12-01T06:00:00Z' })
      .optional(),
    /** Health gates: CloudWatch alarms read before each node starts and after it finishes; one in ALARM holds new nodes and asks continue or abort. */
    healthAlarms: z
      .array(z.string().regex(ALARM_NAME_PATTERN, { message: 'expected a CloudWatch alarm name: 1 to 255 printable ASCII characters' }))
      .min(1, { message: 'expected at least one alarm name (omit healthAlarms for no health gate)' })
      .max(MAX_HEALTH_ALARMS, { message: `expected at most ${MAX_HEALTH_ALARMS} alarms` })
      .refine((names) => new Set(names).size === names.length, { message: 'expected each alarm once (found a duplicate)' })
      .optional(),
    /** With healthAlarms: seconds of watching the alarms after each node before it counts as healthy (default 0). */
    bakeSeconds: z
      .int({ message: 'expected a whole number of seconds' })
      .min(0, { message: 'expected at least 0' })
      .max(MAX_BAKE_SECONDS, { message: `expected at most ${MAX_BAKE_SECONDS} seconds` })
      .default(0),
  })
  .superRefine((input, ctx) => {
    // Per-role settings must name a group that can exist: a role of the order, or the final group.
    const groups = new Set([...(input.roleOrder ?? DEFAULT_ROLE_ORDER), UNMATCHED]);
    for (const field of ['concurrency', 'minHealthy'] as const) {
      for (const key of Object.keys(input[field])) {
        if (!groups.has(key)) {
          ctx.addIssue({ code: 'custom', path: [field, key], message: `expected a role of the role order (${[...groups].join(', ')})` });
        }
      }
    }
    if (input.bakeSeconds > 0 && input.healthAlarms === undefined) {
      ctx.addIssue({ code: 'custom', path: ['bakeSeconds'], message: 'applies only with healthAlarms (a bake watches those alarms)' });
    }
    if (input.maxFailedNodes !== undefined && input.onFailure !== 'rollback-and-continue') {
      ctx.addIssue({
        code: 'custom',
        path: ['maxFailedNodes'],
        message: 'applies only with onFailure "rollback-and-continue" (with "ask" the operator decides every failure)',
      });
    }
    if (input.coreNode !== undefined && input.nodes !== undefined && !input.nodes.some((n) => n.id === input.coreNode)) {
      ctx.addIssue({ code: 'custom', path: ['coreNode'], message: 'expected the id of one of the nodes' });
    }
    // Where the input lists the cluster, `only` and `roleOrder` are checked against it here; else the plan checks them.
    const listed = new Set(input.nodes?.map((n) => n.id));
    input.only?.forEach((id, i) => {
      if (input.nodes !== undefined && !listed.has(id))
        ctx.addIssue({ code: 'custom', path: ['only', i], message: "expected the id of one of the cluster's nodes" });
    });
    const unused = input.nodes === undefined || input.allowUnusedRoles ? [] : unusedRoles(input.roleOrder, input.nodes);
    for (const u of unused) ctx.addIssue({ code: 'custom', path: ['roleOrder', u.index], message: unusedRoleMessage(u) });
  });

/** The execution input after validation, defaults applied. */
export type UpgradeInput = z.output<typeof inputSchema>;
export type NodeSpec = z.output<typeof nodeSchema>;

/** `nodes[2].id` from a zod path. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(input)' : out;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? typeof value;
  } catch {
    // Too deep or cyclic to print (a JSON bomb): say what it is, not what it holds.
    text = Array.isArray(value) ? 'a deeply nested array' : typeof value;
  }
  // Escape non-ASCII so look-alike characters are visible, and keep the message short.
  text = text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Turns a zod error into an InputValidationError naming the field, the expected form and what was given. */
export function toInputValidationError(error: z.ZodError, raw: unknown): InputValidationError {
  const issue = error.issues[0];
  if (issue === undefined) return new InputValidationError('input is invalid', '(input)');
  let path = issue.path;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    path = [...issue.path, key];
    message = 'is not a known field (check the spelling; see docs for the input reference)';
  } else if (issue.code === 'invalid_type' && valueAt(raw, path) === undefined) {
    message = `is required: ${message.replace(/^Invalid input: /, '')}`;
  }
  const field = fieldPath(path);
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''})` : '';
  const got = issue.code === 'unrecognized_keys' ? '' : `, got ${describe(valueAt(raw, path))}`;
  return new InputValidationError(`${field}: ${message}${got}${more}`, field);
}

/** Step Functions' limit on an execution input and on every state's data (bytes of UTF-8 JSON). */
export const STEP_FUNCTIONS_PAYLOAD_BYTES = 256 * 1024;
/**
 * The plan's task carries the whole execution input (the node list) with the validated input and the run
 * context beside it: 8 KiB is left for those, so an input that starts also gets through the plan.
 */
export const MAX_INPUT_BYTES = STEP_FUNCTIONS_PAYLOAD_BYTES - 8 * 1024;

/** Validates the execution input; throws InputValidationError naming the field. */
export function parseInput(raw: unknown): UpgradeInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputValidationError(`(input): expected a JSON object, got ${describe(raw)}`, '(input)');
  }
  let bytes: number;
  try {
    bytes = new TextEncoder().encode(JSON.stringify(raw)).length;
  } catch {
    throw new InputValidationError('(input): expected plain JSON (it could not be serialized: too deeply nested or cyclic)', '(input)');
  }
  const tooLarge = (limit: number, why: string) =>
    new InputValidationError(
      `(input): ${bytes} bytes, over the ${limit}-byte limit (${why}); omit "nodes" to discover them by tag, or split the cluster into several runs`,
      '(input)',
    );
  // Larger than Step Functions takes: refused before the schema looks at it.
  if (bytes > STEP_FUNCTIONS_PAYLOAD_BYTES) throw tooLarge(STEP_FUNCTIONS_PAYLOAD_BYTES, 'the execution input limit of Step Functions');
  const result = inputSchema.safeParse(raw);
  if (!result.success) throw toInputValidationError(result.error, raw);
  if (bytes > MAX_INPUT_BYTES)
    throw tooLarge(
      MAX_INPUT_BYTES,
      `Step Functions allows ${STEP_FUNCTIONS_PAYLOAD_BYTES} bytes of state data, and the plan's task carries the input with 8 KiB more`,
    );
  return result.data;
}
