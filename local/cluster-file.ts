import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InputValidationError } from '../core/errors.js';
import { CLUSTER_PATTERN, NODE_ID_PATTERN, ROLE_PATTERN, fieldPath } from '../core/input-schema.js';
import { VERSION_PATTERN } from '../core/version.js';

/** A cluster to rehearse: `{"cluster":"demo","nodes":[{"id":"dea-1","roles":["dea"],"version":"3.0.0"}]}`. */
export const clusterFileSchema = z.strictObject({
  cluster: z.string().regex(CLUSTER_PATTERN, { message: 'expected a cluster name (letters, digits, "-", "_")' }),
  nodes: z
    .array(
      z.strictObject({
        id: z.string().regex(NODE_ID_PATTERN, { message: 'expected a node id (letters, digits, ".", "-", "_")' }),
        roles: z.array(z.string().regex(ROLE_PATTERN, { message: 'expected a role name (lower-case letters, digits, "-", "_")' })),
        version: z.string().regex(VERSION_PATTERN, { message: 'expected the version installed on the node, like 3.0.0' }),
        /** Data in var/lib/app/state.json that must survive the upgrade. */
        state: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1, { message: 'expected at least one node' })
    .refine((nodes) => new Set(nodes.map((n) => n.id)).size === nodes.length, { message: 'expected unique node ids' }),
});

export type ClusterFile = z.output<typeof clusterFileSchema>;

/** Reads and validates a cluster file; errors name the file and the field. */
export async function readClusterFile(path: string): Promise<ClusterFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new InputValidationError(`--cluster: cannot read ${path} as JSON: ${error instanceof Error ? error.message : String(error)}`, 'cluster');
  }
  const result = clusterFileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = fieldPath(issue?.path ?? []);
    throw new InputValidationError(`--cluster ${path}: ${field}: ${issue?.message ?? 'invalid'}`, `cluster file ${field}`);
  }
  return result.data;
}
