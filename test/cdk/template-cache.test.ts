import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthesizeTemplate } from '../../local/template.js';

describe('the synthesized template cache', () => {
  it('keeps the template on disk, named by the props and sources, and gives the same template back', async () => {
    mkdirSync('.tmp', { recursive: true });
    const dir = mkdtempSync(join('.tmp', 'template-cache-'));
    const template = await synthesizeTemplate({ runbook: 'kato' }, dir);
    const files = readdirSync(join(dir, 'template-cache'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{64}\.json$/);
    expect(JSON.parse(readFileSync(join(dir, 'template-cache', files[0] ?? ''), 'utf8'))).toEqual(template);
    // Other props are another template: another file.
    await synthesizeTemplate({ runbook: 'release-dir', lockTtlSeconds: 3600 }, dir);
    expect(readdirSync(join(dir, 'template-cache'))).toHaveLength(2);
  });
});
