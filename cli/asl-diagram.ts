/** Renders a state machine definition (ASL) as Mermaid and as a self-contained SVG, from the definition itself. */

interface AslChoice {
  Next: string;
  Variable?: string;
  BooleanEquals?: boolean;
  StringEquals?: string;
  And?: AslChoice[];
  Or?: AslChoice[];
  Not?: AslChoice;
}

export interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: AslChoice[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  ItemProcessor?: AslGraph;
  Iterator?: AslGraph;
  MaxConcurrency?: number;
}

export interface AslGraph {
  StartAt: string;
  States: Record<string, AslState>;
}

interface Edge {
  from: string;
  to: string;
  label: string;
  kind: 'next' | 'choice' | 'catch';
}

function condition(c: AslChoice | undefined): string {
  if (c === undefined) return '';
  if (c.And) return c.And.map(condition).join(' and ');
  if (c.Or) return c.Or.map(condition).join(' or ');
  if (c.Not) return `not ${condition(c.Not)}`;
  const field = (c.Variable ?? '').replace(/^\$\./, '');
  if (c.BooleanEquals !== undefined) return `${field} = ${String(c.BooleanEquals)}`;
  if (c.StringEquals !== undefined) return `${field} = ${c.StringEquals}`;
  return field;
}

function edgesOf(name: string, state: AslState): Edge[] {
  const edges: Edge[] = [];
  if (state.Next) edges.push({ from: name, to: state.Next, label: '', kind: 'next' });
  for (const c of state.Choices ?? []) edges.push({ from: name, to: c.Next, label: condition(c), kind: 'choice' });
  if (state.Default) edges.push({ from: name, to: state.Default, label: 'otherwise', kind: 'choice' });
  for (const c of state.Catch ?? []) edges.push({ from: name, to: c.Next, label: 'on failure', kind: 'catch' });
  return edges;
}

const inner = (s: AslState): AslGraph | undefined => s.ItemProcessor ?? s.Iterator;

// ── Mermaid ────────────────────

/** Mermaid flowchart: Map states are subgraphs, catch paths dotted. */
export function toMermaid(definition: AslGraph): string {
  const ids = new Map<string, string>();
  const id = (name: string) => {
    if (!ids.has(name)) ids.set(name, `s${ids.size}`);
    return ids.get(name) as string;
  };
  const quote = (text: string) => `"${text.replace(/"/g, '#quot;')}"`;
  const lines = ['flowchart TD'];
  const edges: Edge[] = [];
  const walk = (graph: AslGraph, indent: string) => {
    for (const [name, state] of Object.entries(graph.States)) {
      const body = inner(state);
      if (body) {
        lines.push(`${indent}subgraph ${id(name)} [${quote(`${name} (Map)`)}]`);
        lines.push(`${indent}  direction TB`);
        walk(body, `${indent}  `);
        lines.push(`${indent}end`);
      } else if (state.Type === 'Choice') lines.push(`${indent}${id(name)}{${quote(name)}}`);
      else if (state.Type === 'Succeed' || state.Type === 'Fail') lines.push(`${indent}${id(name)}([${quote(name)}])`);
      else lines.push(`${indent}${id(name)}(${quote(name)})`);
      edges.push(...edgesOf(name, state));
    }
  };
  lines.push(`  start((" ")) --> ${id(definition.StartAt)}`);
  walk(definition, '  ');
  for (const e of edges) {
    const arrow = e.kind === 'catch' ? `-. ${quote(e.label)} .->` : e.label ? `-- ${quote(e.label)} -->` : '-->';
    lines.push(`  ${id(e.from)} ${arrow} ${id(e.to)}`);
  }
  lines.push('  classDef fail fill:#fde2e1,stroke:#c0392b;');
  lines.push('  classDef done fill:#e3f4e1,stroke:#2e7d32;');
  const failStates: string[] = [];
  const doneStates: string[] = [];
  const collect = (graph: AslGraph) => {
    for (const [name, state] of Object.entries(graph.States)) {
      if (state.Type === 'Fail') failStates.push(id(name));
      if (state.Type === 'Succeed') doneStates.push(id(name));
      const body = inner(state);
      if (body) collect(body);
    }
  };
  collect(definition);
  if (failStates.length) lines.push(`  class ${failStates.join(',')} fail;`);
  if (doneStates.length) lines.push(`  class ${doneStates.join(',')} done;`);
  return `${lines.join('\n')}\n`;
}

// ── SVG: a small layered layout, Map states drawn as boxes holding their own layout ──

interface Box {
  name: string;
  state: AslState;
  w: number;
  h: number;
  x: number;
  y: number;
  children?: Layout;
}

interface Layout {
  w: number;
  h: number;
  boxes: Box[];
}

const CHAR = 7.2;
const PAD = 16;
const ROW_GAP = 34;
const COL_GAP = 22;
const LEAF_H = 34;
const TITLE_H = 26;

/** Rank = longest path from StartAt over forward edges (catch edges do not rank: they point back up or aside). */
function ranks(graph: AslGraph): Map<string, number> {
  const rank = new Map<string, number>([[graph.StartAt, 0]]);
  const names = Object.keys(graph.States);
  for (let pass = 0; pass < names.length; pass++) {
    let changed = false;
    for (const name of names) {
      const r = rank.get(name);
      if (r === undefined) continue;
      for (const e of edgesOf(name, graph.States[name] as AslState)) {
        if (e.kind === 'catch') continue;
        if ((rank.get(e.to) ?? -1) < r + 1) {
          rank.set(e.to, r + 1);
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  // States reached only through a catch go below what catches into them.
  for (let pass = 0; pass < names.length; pass++) {
    let changed = false;
    for (const name of names) {
      for (const e of edgesOf(name, graph.States[name] as AslState)) {
        const from = rank.get(name);
        if (from === undefined) continue;
        if (!rank.has(e.to) || (e.kind !== 'catch' && (rank.get(e.to) as number) <= from)) {
          rank.set(e.to, Math.max(rank.get(e.to) ?? 0, from + 1));
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return rank;
}

function layout(graph: AslGraph): Layout {
  const rank = ranks(graph);
  const rows: Box[][] = [];
  for (const [name, state] of Object.entries(graph.States)) {
    const body = inner(state);
    const children = body ? layout(body) : undefined;
    const title = body ? `${name} (Map${state.MaxConcurrency ? `, ${state.MaxConcurrency} at a time` : ''})` : name;
    const w = Math.max(title.length * CHAR + 2 * PAD, children ? children.w + 2 * PAD : 0);
    const h = children ? children.h + TITLE_H + PAD : LEAF_H;
    const r = rank.get(name) ?? 0;
    (rows[r] ??= []).push({ name, state, w, h, x: 0, y: 0, ...(children ? { children } : {}) });
  }
  const width = Math.max(...rows.filter(Boolean).map((row) => row.reduce((sum, b) => sum + b.w, 0) + COL_GAP * (row.length - 1)));
  let y = 0;
  const boxes: Box[] = [];
  for (const row of rows) {
    if (row === undefined) continue;
    const rowW = row.reduce((sum, b) => sum + b.w, 0) + COL_GAP * (row.length - 1);
    let x = (width - rowW) / 2;
    const rowH = Math.max(...row.map((b) => b.h));
    for (const b of row) {
      Object.assign(b, { x, y });
      x += b.w + COL_GAP;
      boxes.push(b);
    }
    y += rowH + ROW_GAP;
  }
  return { w: width, h: y - ROW_GAP, boxes };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A self-contained SVG of the definition (no fonts or scripts fetched). */
export function toSvg(definition: AslGraph, title = 'fleet-upgrade state machine'): string {
  const root = layout(definition);
  const margin = 24;
  const parts: string[] = [];
  const centers = new Map<string, { x: number; y: number; w: number; h: number }>();
  const edges: Edge[] = [];
  const draw = (l: Layout, ox: number, oy: number) => {
    for (const b of l.boxes) {
      const x = ox + b.x;
      const y = oy + b.y;
      centers.set(b.name, { x, y, w: b.w, h: b.h });
      edges.push(...edgesOf(b.name, b.state));
      const kind = b.children ? 'map' : b.state.Type.toLowerCase();
      const rx = b.state.Type === 'Choice' ? 2 : b.children ? 8 : 16;
      parts.push(`<rect class="${kind}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${b.w.toFixed(1)}" height="${b.h.toFixed(1)}" rx="${rx}"/>`);
      const label = b.children ? `${b.name} (Map${b.state.MaxConcurrency ? `, ${b.state.MaxConcurrency} at a time` : ''})` : b.name;
      const ty = b.children ? y + 17 : y + b.h / 2 + 4;
      parts.push(`<text x="${(x + b.w / 2).toFixed(1)}" y="${ty.toFixed(1)}">${escapeXml(label)}</text>`);
      if (b.children) draw(b.children, x + (b.w - b.children.w) / 2, y + TITLE_H);
    }
  };
  draw(root, margin, margin);
  const lines: string[] = [];
  let right = root.w + 2 * margin + 80;
  for (const e of edges) {
    const a = centers.get(e.from);
    const b = centers.get(e.to);
    if (a === undefined || b === undefined) continue;
    const down = b.y > a.y;
    const x1 = a.x + a.w / 2;
    const y1 = down ? a.y + a.h : a.y + a.h / 2;
    const x2 = b.x + b.w / 2;
    const y2 = down ? b.y : b.y + b.h / 2;
    const d = down
      ? `M${x1.toFixed(1)},${y1.toFixed(1)} C${x1.toFixed(1)},${((y1 + y2) / 2).toFixed(1)} ${x2.toFixed(1)},${((y1 + y2) / 2).toFixed(1)} ${x2.toFixed(1)},${y2.toFixed(1)}`
      : `M${(a.x + a.w).toFixed(1)},${y1.toFixed(1)} C${(a.x + a.w + 60).toFixed(1)},${y1.toFixed(1)} ${(b.x + b.w + 60).toFixed(1)},${y2.toFixed(1)} ${(b.x + b.w).toFixed(1)},${y2.toFixed(1)}`;
    lines.push(
      `<path class="edge ${e.kind}" d="${d}" marker-end="url(#arrow)"><title>${escapeXml(`${e.from} → ${e.to}${e.label ? ` (${e.label})` : ''}`)}</title></path>`,
    );
    if (e.label && e.kind === 'choice') right = Math.max(right, (x1 + x2) / 2 + 4 + e.label.length * 6 + margin);
    if (e.label && e.kind === 'choice')
      lines.push(`<text class="label" x="${((x1 + x2) / 2 + 4).toFixed(1)}" y="${((y1 + y2) / 2).toFixed(1)}">${escapeXml(e.label)}</text>`);
  }
  const w = right;
  const h = root.h + 2 * margin;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w.toFixed(0)}" height="${h.toFixed(0)}" viewBox="0 0 ${w.toFixed(0)} ${h.toFixed(0)}" role="img" aria-label="${escapeXml(title)}">
<title>${escapeXml(title)}</title>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>
<style>
rect { fill: #eef4fb; stroke: #4a6fa5; stroke-width: 1.2; }
rect.map { fill: #f7f7f7; stroke: #888; stroke-dasharray: 4 3; }
rect.choice { fill: #fff8e1; stroke: #b8860b; }
rect.fail { fill: #fde2e1; stroke: #c0392b; }
rect.succeed { fill: #e3f4e1; stroke: #2e7d32; }
text { font: 12px sans-serif; text-anchor: middle; fill: #222; }
text.label { font-size: 10px; text-anchor: start; fill: #555; }
path.edge { fill: none; stroke: #555; stroke-width: 1.1; }
path.catch { stroke: #c0392b; stroke-dasharray: 3 3; }
</style>
${parts.join('\n')}
${lines.join('\n')}
</svg>
`;
}
