import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildRunbookDocument } from '../../lib/runbook-document.js';
import { packageKeyDer } from '../../lib/package-key.js';
import { TEST_PACKAGE_KEY } from '../support/package-key.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Runs the document's script as SSM would (sh, parameters substituted) up to the step itself, and returns
 * the files it wrote: instead of running the step, the script copies its directory out.
 */
async function writtenFiles(runbookDir: string, sharedDir: string, step: string): Promise<Map<string, string>> {
  const doc = buildRunbookDocument(runbookDir, packageKeyDer(TEST_PACKAGE_KEY), sharedDir);
  const runCommand = (doc.content.mainSteps as { inputs: { runCommand: string[] } }[])[0]?.inputs.runCommand ?? [];
  const out = mkdtempSync(join(tmpdir(), 'fu-doc-'));
  const params: Record<string, string> = {
    step,
    targetVersion: '3.1.0',
    artifactBaseUrl: 'http://127.0.0.1:1/a',
    httpsProxy: '',
    runId: 'r-1',
    executionTimeout: '60',
  };
  const script = runCommand
    .map((line) => line.replace(/\{\{ (\w+) \}\}/g, (_, name: string) => params[name] ?? ''))
    .map((line) => (line === 'bash "$fu_dir/$fu_step.sh"' ? `cp "$fu_dir"/* '${out}'/` : line))
    .join('\n');
  expect(script).toContain(`cp "$fu_dir"/* '${out}'/`);
  await exec('sh', ['-c', script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FLEET_UPGRADE_ROOT: out } });
  return new Map(readdirSync(out).map((f) => [f, readFileSync(join(out, f), 'utf8')]));
}

describe('the SSM document writes the runbook onto the node', () => {
  it('byte for byte, with shell-hostile lines (quotes, backslashes, $(…), tabs, blank lines) left alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fu-runbook-'));
    const runbook = join(dir, 'tricky');
    mkdirSync(runbook);
    cpSync(join(ROOT, 'runbooks', 'release-dir'), runbook, { recursive: true });
    const tricky = [
      '#!/usr/bin/env bash',
      'echo \'single\' "double" \\\\ back\\slash $(date) `id` ${HOME} $HOME ;& | > < ! * ?',
      "it's a quote: ''' and '\\''",
      '\tindented with a tab   ',
      '',
      'line ending in a backslash \\',
      '# PRINTF %s %d %% \\n',
      '',
    ].join('\n');
    writeFileSync(join(runbook, 'lib.sh'), tricky);
    const files = await writtenFiles(runbook, join(ROOT, 'runbooks', 'shared'), 'self-update');
    expect(files.get('lib.sh')).toBe(tricky);
    expect(files.get('common.sh')).toBe(readFileSync(join(ROOT, 'runbooks', 'shared', 'common.sh'), 'utf8'));
    for (const f of readdirSync(runbook)) if (f !== 'lib.sh') expect(files.get(f), f).toBe(readFileSync(join(runbook, f), 'utf8'));
  });

  it.each(['release-dir', 'kato'])('%s: a step gets only the shared library, lib.sh and its own script', async (name) => {
    const files = await writtenFiles(join(ROOT, 'runbooks', name), join(ROOT, 'runbooks', 'shared'), 'upgrade');
    expect([...files.keys()].sort()).toEqual(['common.sh', 'lib.sh', 'upgrade.sh']);
    expect(files.get('upgrade.sh')).toBe(readFileSync(join(ROOT, 'runbooks', name, 'upgrade.sh'), 'utf8'));
  });
});
