import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const SOURCE_DIRS = ['adapters', 'bench', 'bin', 'cli', 'core', 'lambdas', 'lib', 'local'];
const IMPORT = /(?:import|export)\s+(?:type\s+)?[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Every relative import (type-only ones too) of every source file outside test/. */
function importGraph(): Map<string, string[]> {
  const files = SOURCE_DIRS.flatMap((d) =>
    (readdirSync(d, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => normalize(join(d, f))),
  );
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps = [...readFileSync(file, 'utf8').matchAll(IMPORT)]
      .map((m) => normalize(join(dirname(file), (m[1] ?? m[2] ?? '').replace(/\.js$/, '.ts'))))
      .filter((target) => existsSync(target));
    graph.set(file, deps);
  }
  return graph;
}

/** A cycle through the graph, as the files along it, or null. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): string[] | null => {
    if (state.get(file) === 'done') return null;
    if (state.get(file) === 'open') return [...path.slice(path.indexOf(file)), file];
    state.set(file, 'open');
    path.push(file);
    for (const dep of graph.get(file) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(file, 'done');
    return null;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return null;
}

describe('the import graph', () => {
  const graph = importGraph();

  it('has no circles, type-only imports included', () => {
    expect(findCycle(graph)).toBeNull();
  });

  it('keeps the layers: core imports no edge; the stack, handlers and adapters nothing of the local stand-ins', () => {
    const crossings = [...graph].flatMap(([file, deps]) =>
      deps
        .filter((dep) => {
          const [from, to] = [file.split('/')[0], dep.split('/')[0]];
          if (from === 'core') return to !== 'core';
          // The stack is what local/template.ts caches by lib's sources: lib must not depend on the local stand-ins.
          if (from === 'lib') return to === 'local' || to === 'cli' || to === 'bin';
          return (from === 'lambdas' || from === 'adapters') && to === 'local';
        })
        .map((dep) => `${file} → ${dep}`),
    );
    expect(crossings).toEqual([]);
  });

  it('finds a circle when there is one (the check can fail)', () => {
    expect(
      findCycle(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', ['a.ts']],
        ]),
      ),
    ).toEqual(['a.ts', 'b.ts', 'a.ts']);
  });
});
