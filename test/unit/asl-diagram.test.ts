import { describe, expect, it } from 'vitest';
import { toMermaid, toSvg, type AslGraph } from '../../cli/asl-diagram.js';

const definition: AslGraph = {
  StartAt: 'Validate input',
  States: {
    'Validate input': { Type: 'Task', Next: 'Is this a dry run?' },
    'Is this a dry run?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.input.dryRun', BooleanEquals: true, Next: 'Dry run finished' } as never],
      Default: 'Upgrade nodes',
    },
    'Dry run finished': { Type: 'Succeed' },
    'Upgrade nodes': {
      Type: 'Map',
      MaxConcurrency: 1,
      ItemProcessor: { StartAt: 'Upgrade', States: { Upgrade: { Type: 'Task', End: true } } },
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Upgrade failed' }],
      Next: 'Done',
    },
    Done: { Type: 'Succeed' },
    'Upgrade failed': { Type: 'Fail' },
  },
};

describe('state machine diagram (from the definition itself)', () => {
  it('renders Mermaid with Map states as subgraphs, choices labelled and catch paths dotted', () => {
    const m = toMermaid(definition);
    expect(m.startsWith('flowchart TD\n')).toBe(true);
    expect(m).toContain('subgraph s3 ["Upgrade nodes (Map)"]');
    expect(m).toContain('s1{"Is this a dry run?"}');
    expect(m).toContain('s1 -- "input.dryRun = true" --> s2');
    expect(m).toContain('s1 -- "otherwise" --> s3');
    expect(m).toContain('s3 -. "on failure" .-> s6');
    expect(m).toContain('class s6 fail;');
  });

  it('renders an SVG with a box per state, the Map around its own states, and no external references', () => {
    const svg = toSvg(definition);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<rect /g)).toHaveLength(7);
    expect(svg).toContain('<rect class="map"');
    expect(svg).toContain('>Upgrade nodes (Map, 1 at a time)</text>');
    expect(svg).toContain('class="edge catch"');
    expect(svg).not.toMatch(/href=|<script|@import|url\(http/);
    // The Map's box contains its inner state's box.
    const box = (label: string) => {
      const m = new RegExp(`<rect class="[a-z]+" x="([\\d.]+)" y="([\\d.]+)" width="([\\d.]+)" height="([\\d.]+)"[^>]*/>\\n<text[^>]*>${label}`).exec(svg);
      return m ? m.slice(1).map(Number) : [];
    };
    const [mx = 0, my = 0, mw = 0, mh = 0] = box('Upgrade nodes \\(Map');
    const [ix = 0, iy = 0, iw = 0, ih = 0] = box('Upgrade<');
    expect(ix).toBeGreaterThan(mx);
    expect(iy).toBeGreaterThan(my);
    expect(ix + iw).toBeLessThan(mx + mw);
    expect(iy + ih).toBeLessThan(my + mh);
  });
});
