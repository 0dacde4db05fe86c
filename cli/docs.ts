import { z } from 'zod';
import { inputSchema } from '../core/input-schema.js';
import { toMermaid, toSvg, type AslGraph } from './asl-diagram.js';

/** What each input field means, for the reference (the shape itself comes from the zod schema). */
const MEANING: Record<string, string> = {
  cluster: 'Name of the cluster; one run per cluster at a time (the lock).',
  targetVersion: 'Version every node is upgraded to.',
  roleOrder: 'Role order, replacing the default `dea, controller, router, base, primary`. A node joins the group of the latest role it runs.',
  force: 'Upgrade nodes even when they are already at (or above) the target version.',
  ignoreInspectFailures:
    'Failed pre- and post-upgrade validations become warnings (`FAILED_IGNORED`) instead of stopping the node; after a failed post-upgrade validation the node counts as upgraded.',
  concurrency: 'Nodes upgraded at once per role group; `unmatched` is the final group (nodes matching no role). Default 1.',
  minHealthy: 'Per role (or `unmatched`): how many of its nodes must stay in service while its group upgrades — a count or a percentage like `"75%"`.',
  prepareOnly: 'Check every node and stage the target package where needed, then stop: no maintenance window.',
  nodes:
    "The cluster's nodes (id and roles), each tagged `fleet-upgrade:cluster=<cluster>`: the plan refuses others, naming them, touching nothing. Omitted: discovery " +
    'by tags. One run takes as many as its state data holds (5,102 EC2 instance ids); the plan refuses a larger cluster, touching nothing: split it into runs.',
  'nodes[].id': 'Node id: the EC2 instance / SSM managed-instance id.',
  'nodes[].roles': 'Roles enabled on the node.',
  coreNode: 'Node that switches maintenance mode on and off. Default: the node with role `primary`.',
  httpsProxy: 'Proxy for package downloads on the nodes (`HTTPS_PROXY`); no credentials, no path.',
  approval: 'What happens after a failed step: the operator is asked (email link).',
  'approval.timeoutMinutes': "How long to wait for the operator's decision.",
  'approval.onTimeout': 'Decision taken when nobody answers in time.',
  dryRun: 'Only plan: return the plan, touch nothing, take no lock.',
  only:
    "Upgrade only these nodes (kato's single-node upgrade). The others get no command and are reported as not " +
    'in this run; the core node still switches maintenance mode. An id the cluster does not have is refused.',
  allowUnusedRoles:
    'Accept roles in `roleOrder` that no node of the cluster has. Without it such a role is refused as a likely typo, naming the closest role the cluster has.',
  pauseLimitMinutes:
    'How long `fleet-upgrade pause` may hold the run. Not resumed by then, the run stops as abort does: nodes not ' +
    'started stay at their version (NOT_STARTED), maintenance mode goes off, the lock is released; the run ends ABORTED.',
  canary:
    'Canary, then widen: once the first N nodes to start (in run order) are upgraded, the run waits for ' +
    '`continue` or `abort` (approval page, email, `fleet-upgrade decide`) before any other node starts. ' +
    '`abort` stops the run as abort does: the canary nodes stay at the target, nothing else changes, maintenance mode off, lock released (ABORTED). No answer within `approval.timeoutMinutes`: abort.',
  onFailure:
    'A failed window step: `ask` the operator, or `rollback-and-continue`: roll the node back and go on without ' +
    'asking (decided by policy) until `maxFailedNodes` failed; the next failure stops the run as `abort` does.',
  maxFailedNodes:
    'With `onFailure: "rollback-and-continue"` only: failed nodes rolled back without asking in this run, across parallel nodes (exact). Default 1; 0 stops at the first failure.',
  healthAlarms:
    'Health gates: CloudWatch alarm names (metric or composite, at most 100) read before each node starts and after it finishes. An alarm in ALARM, ' +
    'or a name CloudWatch does not know (a typo), stops new nodes from starting and asks `continue` or `abort` (approval page, email, `fleet-upgrade ' +
    'decide`) with the alarm, its StateReason and the nodes changed since the gate last passed. `continue`: those alarms no longer stop this run (a ' +
    'new one asks again). `abort`: the run stops as abort does (ABORTED, failure `HealthAlarm`). No answer within `approval.timeoutMinutes`: abort.',
  bakeSeconds:
    'With `healthAlarms` only: seconds of watching the alarms after each node before it counts as healthy (a Wait state; no function runs meanwhile). Default 0.',
  notAfter:
    "ISO time with a zone: no node starts that is estimated (90th percentile of the node durations of the cluster's 5 recent " +
    'runs, per role; 20 minutes before any) to finish after it. The run then ends `INCOMPLETE`; `resumeFrom` carries on.',
};

type JsonSchema = {
  type?: string;
  pattern?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
};

/** The execution input as JSON Schema (draft 2020-12), generated from the zod schema. */
export function inputJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://fleet-upgrade.invalid/schemas/execution-input.json',
    title: 'fleet-upgrade execution input',
    ...(z.toJSONSchema(inputSchema, { io: 'input' }) as Record<string, unknown>),
  };
}

function constraints(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.pattern) parts.push(`pattern \`${s.pattern}\``);
  if (s.enum) parts.push(`one of ${s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(', ')}`);
  if (s.minimum !== undefined || s.maximum !== undefined) parts.push(`${s.minimum ?? '…'}–${s.maximum ?? '…'}`);
  if (s.minItems !== undefined || s.maxItems !== undefined) parts.push(`${s.minItems ?? 0}–${s.maxItems ?? '…'} items`);
  if (s.items?.pattern) parts.push(`each: pattern \`${s.items.pattern}\``);
  if (s.propertyNames?.pattern) parts.push(`keys: pattern \`${s.propertyNames.pattern}\``);
  if (typeof s.additionalProperties === 'object') parts.push(`values: ${s.additionalProperties.type ?? ''} ${constraints(s.additionalProperties)}`.trim());
  return parts.join('; ').replace(/\|/g, '\\|');
}

/** docs/input-reference.md: one row per field, from the JSON Schema. */
export function inputReference(): string {
  const schema = inputJsonSchema() as JsonSchema;
  const rows: string[] = [];
  const walk = (props: Record<string, JsonSchema>, required: string[], prefix: string) => {
    for (const [name, s] of Object.entries(props)) {
      const path = `${prefix}${name}`;
      const type = s.type === 'array' ? `array of ${s.items?.type ?? 'any'}` : (s.type ?? (s.enum ? 'string' : 'any'));
      const def = s.default === undefined ? '' : `\`${JSON.stringify(s.default)}\``;
      rows.push(`| \`${path}\` | ${type} | ${required.includes(name) ? 'yes' : 'no'} | ${def} | ${constraints(s)} | ${MEANING[path] ?? ''} |`);
      if (s.properties) walk(s.properties, s.required ?? [], `${path}.`);
      if (s.items?.properties) walk(s.items.properties, s.items.required ?? [], `${path}[].`);
    }
  };
  walk(schema.properties ?? {}, schema.required ?? [], '');
  return `# Execution input reference

<!-- Generated by \`npm run docs\` from the zod schema in core/input-schema.ts; do not edit by hand. -->

One JSON document, accepted identically by \`StartExecution\` (console or \`aws stepfunctions start-execution\`),
\`fleet-upgrade start --input FILE\` and the local rehearsal. Unknown fields are refused. Bad input fails the first
state (\`Validate input\`) with \`InputValidationError\` naming the field, before any lock is taken or node touched.
The machine-readable form is [input-schema.json](input-schema.json) (JSON Schema 2020-12).

| Field | Type | Required | Default | Constraints | Meaning |
|---|---|---|---|---|---|
${rows.join('\n')}

Example:

\`\`\`json
{ "cluster": "prod-als", "targetVersion": "3.2.0",
  "nodes": [{ "id": "i-0abc1234def567890", "roles": ["dea"] }, { "id": "i-0fed9876cba543210", "roles": ["primary", "controller"] }],
  "concurrency": { "dea": 4 }, "httpsProxy": "http://proxy.internal:3128" }
\`\`\`
`;
}

/** Every generated file under docs/, by path: what \`npm run docs\` writes and a test keeps up to date. */
export async function generatedDocs(definition: AslGraph): Promise<Record<string, string>> {
  return {
    'docs/input-schema.json': `${JSON.stringify(inputJsonSchema(), null, 2)}\n`,
    'docs/input-reference.md': inputReference(),
    'docs/diagram.mmd': toMermaid(definition),
    'docs/diagram.svg': toSvg(definition),
  };
}
