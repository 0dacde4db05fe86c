import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PROXY_PATTERN } from '../core/input-schema.js';
import { PACKAGE_KEY_DER_PATTERN } from './package-key.js';
import { RUN_ID_PATTERN } from '../core/run-context.js';
import { STEP_IDS, type StepId } from '../core/steps.js';
import { VERSION_PATTERN } from '../core/version.js';

/**
 * https only: the package's transport must not be open to the network. Plain http is admitted for 127.0.0.1
 * and localhost alone, where the local rehearsal serves its packages; a real node has no repository there.
 */
export const ARTIFACT_URL_PATTERN = /^(https:\/\/[A-Za-z0-9.-]+|http:\/\/(127\.0\.0\.1|localhost))(:[0-9]{1,5})?(\/[A-Za-z0-9._~/-]*)?$/;

/** Throws an Error naming the setting unless `url` is an https URL (or the rehearsal's loopback http). */
export function checkArtifactBaseUrl(url: string): void {
  if (ARTIFACT_URL_PATTERN.test(url)) return;
  if (url === '') {
    throw new Error(
      'artifactBaseUrl: required: the https:// URL of your package repository, e.g. -c artifactBaseUrl=https://artifacts.example.com/app (docs/deploy-guide.md)',
    );
  }
  throw new Error(
    `artifactBaseUrl: expected an https:// URL without query or credentials, got ${JSON.stringify(url)}. ` +
      'Plain http:// is accepted only for 127.0.0.1 or localhost, where the local rehearsal serves its packages; a real node has no repository there',
  );
}

/** The document line that pins the package key (one line, so a rehearsal can pin its own key in a synthesized document). */
const PACKAGE_KEY_LINE = /^FU_PACKAGE_KEY='[^']*'$/;

function packageKeyLine(packageKey: string): string {
  if (!PACKAGE_KEY_DER_PATTERN.test(packageKey))
    throw new Error(`package key: expected an Ed25519 public key as base64 DER, got ${JSON.stringify(packageKey)}`);
  return `FU_PACKAGE_KEY='${packageKey}'`;
}

export interface RunbookDocument {
  /** The SSM Command document (schemaVersion 2.2) as an object. */
  content: Record<string, unknown>;
  /** Hash of the runbook's files: what self-update installs on the node. */
  runbookVersion: string;
  files: string[];
}

/**
 * Turns a runbook folder (lib.sh + one script per step id) into one SSM Command document.
 * The top-level script is POSIX sh (the SSM agent's shell); it writes the runbook into a temporary
 * directory and runs the requested step with bash. Parameters reach the script only through
 * `{{ }}` substitution, so every one of them carries an allowedPattern that admits no quote or
 * shell metacharacter. The package key (base64 DER of an Ed25519 public key) is part of the document, not a
 * parameter: whoever may send the command cannot choose the key its packages are checked against.
 */
export function buildRunbookDocument(runbookDir: string, packageKey: string, sharedDir = join(dirname(runbookDir), 'shared')): RunbookDocument {
  // Files every runbook shares (runbooks/shared/), then the runbook's own; a runbook file of the same name wins.
  const sources = new Map<string, string>();
  for (const dir of [sharedDir, runbookDir]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((name) => name.endsWith('.sh'))) sources.set(f, join(dir, f));
  }
  const files = [...sources.keys()].sort();
  const missing = STEP_IDS.filter((step) => !files.includes(`${step}.sh`));
  if (missing.length > 0) throw new Error(`runbook ${runbookDir} has no script for step(s): ${missing.join(', ')}`);
  if (!files.includes('lib.sh')) throw new Error(`runbook ${runbookDir} has no lib.sh`);
  const hash = createHash('sha256');
  const embedded: string[] = [];
  for (const file of files) {
    const text = readFileSync(sources.get(file) as string, 'utf8');
    if (/\{\{\s*[A-Za-z]+\s*\}\}/.test(text)) throw new Error(`${file} contains "{{ … }}", which SSM would substitute`);
    hash.update(`${file}\0${text}\0`);
    // One printf (a shell builtin) writes the file: no process is started for it, on every node, every step.
    const write = [
      `printf '%s\\n' \\`,
      ...text
        .replace(/\n$/, '')
        .split('\n')
        .map((line) => `${shellQuote(line)} \\`),
      `  >"$fu_dir/${file}"`,
    ];
    // A step needs the shared files and its own script; self-update installs them all.
    const step = file.slice(0, -'.sh'.length);
    embedded.push(...(STEP_IDS.includes(step as StepId) ? [`case "$fu_step" in self-update|${step})`, ...write, ';; esac'] : write));
  }
  const runbookVersion = hash.digest('hex').slice(0, 16);
  const runCommand = [
    '#!/bin/sh',
    '# fleet-upgrade runbook: writes the step scripts to a temporary directory and runs one step.',
    'set -eu',
    "fu_step='{{ step }}'",
    "FU_TARGET_VERSION='{{ targetVersion }}'",
    "FU_ARTIFACT_BASE_URL='{{ artifactBaseUrl }}'",
    "HTTPS_PROXY='{{ httpsProxy }}'",
    "FU_RUN_ID='{{ runId }}'",
    `FU_RUNBOOK_VERSION='${runbookVersion}'`,
    packageKeyLine(packageKey),
    'export FU_TARGET_VERSION FU_ARTIFACT_BASE_URL HTTPS_PROXY FU_RUN_ID FU_RUNBOOK_VERSION FU_PACKAGE_KEY',
    'fu_dir="$(mktemp -d)"',
    'trap \'rm -rf "$fu_dir"\' EXIT',
    ...embedded,
    'cd "${FLEET_UPGRADE_ROOT:-/}"',
    'bash "$fu_dir/$fu_step.sh"',
  ];
  const content = {
    schemaVersion: '2.2',
    description:
      `fleet-upgrade runbook ${runbookVersion}: runs one upgrade step (self-update, version check, validation, download, retire, backup, ` +
      'upgrade, restart, rollback, maintenance mode) on a node.',
    parameters: {
      step: { type: 'String', description: 'The step to run.', allowedPattern: `^(${STEP_IDS.join('|')})$` },
      targetVersion: { type: 'String', description: 'The version to upgrade to.', allowedPattern: VERSION_PATTERN.source },
      artifactBaseUrl: {
        type: 'String',
        description: 'Where packages, their signatures and SHA256SUMS are served (https).',
        allowedPattern: ARTIFACT_URL_PATTERN.source,
      },
      httpsProxy: { type: 'String', description: 'HTTPS_PROXY for downloads; empty for none.', default: '', allowedPattern: `^$|${PROXY_PATTERN.source}` },
      runId: { type: 'String', description: 'The run (execution name); names the backup.', allowedPattern: RUN_ID_PATTERN.source },
      executionTimeout: { type: 'String', description: 'Seconds the step may run.', default: '3600', allowedPattern: '^[0-9]{1,5}$' },
    },
    mainSteps: [
      {
        action: 'aws:runShellScript',
        name: 'runUpgradeStep',
        inputs: { timeoutSeconds: '{{ executionTimeout }}', runCommand },
      },
    ],
  };
  return { content, runbookVersion, files };
}

/**
 * The document `content` with `packageKey` pinned instead of the key it was built with: a rehearsal signs its
 * packages with a key of its own, also when it rehearses a template `cdk synth` wrote with the real key.
 */
export function withPackageKey(content: Record<string, unknown>, packageKey: string): Record<string, unknown> {
  const copy = structuredClone(content) as { mainSteps?: { inputs?: { runCommand?: string[] } }[] };
  const lines = copy.mainSteps?.[0]?.inputs?.runCommand ?? [];
  const at = lines.findIndex((line) => PACKAGE_KEY_LINE.test(line));
  if (at < 0) throw new Error("the SSM document pins no package key (FU_PACKAGE_KEY): synthesize it from this project's stack");
  lines[at] = packageKeyLine(packageKey);
  return copy as Record<string, unknown>;
}

/** A single-quoted sh word holding `text` exactly (a quote inside becomes '\\''). */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
