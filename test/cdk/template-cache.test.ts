import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthesizeTemplate } from '../../local/template.js';

describe('the synthesized template cache', () => {
  it('keeps the template in .tmp/template-cache, whatever folder the synth writes to, and gives the same template back', async () => {
    mkdirSync('.tmp', { recursive: true });
    // Props no other test uses: this process has no copy in memory, so the synth writes the cache file.
    const props = { runbook: 'kato', lockTtlSeconds: 4321 };
    const before = new Set(existsSync('.tmp/template-cache') ? readdirSync('.tmp/template-cache') : []);
    const template = await synthesizeTemplate(props, '.tmp');
    const written = readdirSync('.tmp/template-cache').filter((f) => f.endsWith('.json'));
    const mine =
      written.find((f) => !before.has(f)) ??
      written.find((f) => JSON.stringify(JSON.parse(readFileSync(join('.tmp/template-cache', f), 'utf8'))) === JSON.stringify(template));
    expect(mine, 'no cache file holds the template').toMatch(/^[0-9a-f]{64}\.json$/);
    expect(JSON.parse(readFileSync(join('.tmp/template-cache', mine ?? ''), 'utf8'))).toEqual(template);
  });
});
