import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The bad-input corpus (test/fixtures/bad-inputs/*.json): `{why, field, input}`, or `{why, field, $generate}`
 * for inputs too big to keep in a file (expanded below). Every case must end in InputValidationError
 * naming `field`, before anything is touched.
 */
const DIR = 'test/fixtures/bad-inputs';
const base = { cluster: 'prod-als', targetVersion: '3.2.0' };

export interface Case {
  why: string;
  field: string;
  input?: unknown;
  $generate?: { nodes?: number; bytes?: number; depth?: number; keys?: number };
}

function expand(c: Case): unknown {
  const g = c.$generate;
  if (g === undefined) return c.input;
  if (g.nodes !== undefined) return { ...base, nodes: Array.from({ length: g.nodes }, (_, i) => ({ id: `n${i}`, roles: [] })) };
  if (g.bytes !== undefined)
    return { ...base, nodes: Array.from({ length: Math.ceil(g.bytes / 60) }, (_, i) => ({ id: `node-with-a-long-name-${i}`, roles: ['dea'] })) };
  if (g.depth !== undefined) {
    let deep: unknown = 'x';
    for (let i = 0; i < g.depth; i++) deep = [deep];
    return { ...base, cluster: deep };
  }
  if (g.keys !== undefined) return { ...base, concurrency: Object.fromEntries(Array.from({ length: g.keys }, (_, i) => [`r${i}`, 1])) };
  throw new Error(`unknown generator ${JSON.stringify(g)}`);
}

export interface BadInput extends Case {
  /** The input itself (generated ones expanded). */
  value: unknown;
}

export const BAD_INPUTS: [string, BadInput][] = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => {
    const c = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Case;
    return [f.replace(/\.json$/, ''), { ...c, value: expand(c) }];
  });
